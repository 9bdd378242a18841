/*
 * shm.c - named and anonymous shared memory segments (see shm.h).
 *
 * A named segment is made without a name first: an O_TMPFILE file in
 * /dev/shm (the directory glibc's shm_open() uses), sized, mapped and
 * initialised, then linked under its name with linkat(2), which fails
 * with EEXIST if the name is taken.  So an opener sees either no object
 * or a finished one, and a creator that fails or is killed half way
 * leaves nothing behind: an unlinked file dies with its last descriptor.
 * An anonymous segment is a memfd, shared with children forked later.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "internal.h"
#include "shm.h"

#define SHM_DIR "/dev/shm"

/* An unnamed file for the segment: in SHM_DIR if it is to get a name. */
static int
unnamed_file(bool named, mode_t mode)
{
	int fd;

	if (named)
		fd = open(SHM_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	else
		fd = memfd_create("mproc", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* The exact mode asked for, whatever the umask. */
	if (named && fchmod(fd, mode) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* 0 if size bytes fit both in free memory and in fd's file system. */
static int
room_for(int fd, size_t size)
{
	long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	struct statvfs fs;

	if (pages > 0 && page > 0 && size / (size_t)page >= (size_t)pages)
		return -ENOMEM;
	if (fstatvfs(fd, &fs) == 0 && fs.f_blocks != 0 &&
	    size / fs.f_frsize >= fs.f_bavail)
		return -ENOMEM;
	return 0;
}

/* Sets the size; with reserve, allocates every page now, so that a
 * segment too large for memory fails here with ENOMEM rather than with
 * SIGBUS on first use. */
static int
size_file(int fd, size_t size, bool reserve)
{
	int err;

	if (size > (size_t)PTRDIFF_MAX)
		return -ENOMEM;
	if (ftruncate(fd, (off_t)size) < 0)
		return errno == EFBIG || errno == EINVAL ? -ENOMEM : -errno;
	if (!reserve)
		return 0;
	/* Refuse what cannot fit before fallocate() eats the machine's memory. */
	if ((err = room_for(fd, size)) < 0)
		return err;
	err = posix_fallocate(fd, 0, (off_t)size);
	return err == 0 ? 0 : err == ENOSPC || err == EFBIG ? -ENOMEM : -err;
}

static int
map_file(int fd, size_t size, void **addr)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

/* Gives the unnamed file fd its name: -EEXIST if the name is taken. */
static int
link_name(int fd, const char *name)
{
	char from[64], to[sizeof(SHM_DIR) + MPROC_NAME_MAX + 2];

	snprintf(from, sizeof(from), "/proc/self/fd/%d", fd);
	snprintf(to, sizeof(to), "%s%s", SHM_DIR, name);
	if (linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	return 0;
}

static int
new_handle(void *addr, size_t size, const char *name, struct mproc_shm **out)
{
	struct mproc_shm *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -ENOMEM;
	if (name != NULL && (s->name = strdup(name)) == NULL) {
		free(s);
		return -ENOMEM;
	}
	s->addr = addr;
	s->size = size;
	*out = s;
	return 0;
}

/* Everything after the file exists: size, map, init, handle, name. */
static int
build(int fd, const char *name, size_t size, int flags,
      mproc__shm_init_fn *init, const void *arg, struct mproc_shm **out)
{
	void *addr = NULL;
	int rc;

	rc = size_file(fd, size, flags & MPROC__SHM_RESERVE);
	if (rc == 0)
		rc = map_file(fd, size, &addr);
	if (rc < 0)
		return rc;
	rc = init != NULL ? init(addr, size, arg) : 0;
	if (rc == 0)
		rc = new_handle(addr, size, name, out);
	if (rc < 0) {
		munmap(addr, size);
		return rc;
	}
	/* Last: once linked, the name is visible and must stay valid. */
	if (name != NULL && (rc = link_name(fd, name)) < 0)
		mproc__shm_close(*out);
	return rc;
}

int
mproc__shm_create(const char *name, size_t size, mode_t mode, int flags,
		  mproc__shm_init_fn *init, const void *arg,
		  struct mproc_shm **out)
{
	int fd, rc;

	if (name != NULL && (rc = mproc__name_check(name)) < 0)
		return rc;
	if (size == 0 || (mode & ~(mode_t)07777) != 0)
		return -EINVAL;
	fd = unnamed_file(name != NULL, mode == 0 ? 0600 : mode);
	if (fd < 0)
		return fd;
	rc = build(fd, name, size, flags, init, arg, out);
	close(fd);
	return rc;
}

int
mproc__shm_open(const char *name, struct mproc_shm **out)
{
	struct stat st;
	void *addr = NULL;
	int fd, rc;

	if ((rc = mproc__name_check(name)) < 0)
		return rc;
	fd = shm_open(name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
		 (uintmax_t)st.st_size > PTRDIFF_MAX)
		rc = -EPROTO;	/* never one of ours: we link only finished files */
	else if ((rc = map_file(fd, (size_t)st.st_size, &addr)) == 0 &&
		 (rc = new_handle(addr, (size_t)st.st_size, name, out)) < 0)
		munmap(addr, (size_t)st.st_size);
	close(fd);
	return rc;
}

void
mproc__shm_close(struct mproc_shm *s)
{
	munmap(s->addr, s->size);
	free(s->name);
	free(s);
}

int
mproc__shm_unlink(const char *name)
{
	int rc = mproc__name_check(name);

	if (rc < 0)
		return rc;
	return shm_unlink(name) < 0 ? -errno : 0;
}

/* --- the public calls ------------------------------------------------- */

mproc_shm *
mproc_shm_create(const char *name, size_t size, mode_t mode)
{
	struct mproc_shm *s;
	int rc = mproc__shm_create(name, size, mode, 0, NULL, NULL, &s);

	return rc < 0 ? fail_null(-rc) : s;
}

mproc_shm *
mproc_shm_open(const char *name)
{
	struct mproc_shm *s;
	int rc = mproc__shm_open(name, &s);

	return rc < 0 ? fail_null(-rc) : s;
}

void *
mproc_shm_addr(const mproc_shm *s)
{
	return s == NULL ? fail_null(EINVAL) : s->addr;
}

size_t
mproc_shm_size(const mproc_shm *s)
{
	if (s == NULL) {
		errno = EINVAL;
		return 0;
	}
	return s->size;
}

const char *
mproc_shm_name(const mproc_shm *s)
{
	return s == NULL ? fail_null(EINVAL) : s->name;
}

int
mproc_shm_close(mproc_shm *s)
{
	if (s == NULL)
		return fail(EINVAL);
	mproc__shm_close(s);
	return 0;
}

int
mproc_shm_unlink(const char *name)
{
	return result(mproc__shm_unlink(name));
}
