/* tests/test_shm.c: test_<object>_<situation>_<expected result> */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <mproc.h>
#include "util.h"

struct fixture {
	char name[64];
	mproc_shm *s;
};

static int
setup(void **state)
{
	static struct fixture f;

	test_deadline(10);
	test_name(f.name, sizeof(f.name));
	f.s = NULL;
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f->s != NULL)
		assert_int_equal(mproc_shm_close(f->s), 0);
	shm_unlink(f->name);	/* the test may have unlinked it already */
	test_deadline(0);
	return 0;
}

static void
test_shm_create_named_is_zeroed_and_reports_itself(void **state)
{
	struct fixture *f = *state;
	unsigned char *p;

	f->s = mproc_shm_create(f->name, 10000, 0);
	assert_non_null(f->s);
	assert_int_equal(mproc_shm_size(f->s), 10000);
	assert_string_equal(mproc_shm_name(f->s), f->name);
	p = mproc_shm_addr(f->s);
	for (size_t i = 0; i < 10000; i++)
		assert_int_equal(p[i], 0);
}

static void
test_shm_create_mode_zero_is_0600_despite_umask(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	mode_t old = umask(0077);
	int fd;

	f->s = mproc_shm_create(f->name, 64, 0);
	assert_non_null(f->s);
	fd = shm_open(f->name, O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	close(fd);
	assert_int_equal(mproc_shm_close(f->s), 0);
	assert_int_equal(mproc_shm_unlink(f->name), 0);

	umask(0022);
	f->s = mproc_shm_create(f->name, 64, 0666);
	assert_non_null(f->s);
	fd = shm_open(f->name, O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0666);
	close(fd);
	umask(old);
}

static void
test_shm_create_taken_name_fails_eexist(void **state)
{
	struct fixture *f = *state;

	f->s = mproc_shm_create(f->name, 64, 0);
	assert_non_null(f->s);
	assert_null(mproc_shm_create(f->name, 64, 0));
	assert_int_equal(errno, EEXIST);
}

static void
test_shm_create_bad_arguments_fail_einval_and_leave_nothing(void **state)
{
	struct fixture *f = *state;
	static const char *bad[] = { "", "/", "noslash", "/a/b", NULL };
	char longname[300];

	assert_null(mproc_shm_create(f->name, 0, 0));
	assert_int_equal(errno, EINVAL);
	for (size_t i = 0; bad[i] != NULL; i++) {
		assert_null(mproc_shm_create(bad[i], 64, 0));
		assert_int_equal(errno, EINVAL);
	}
	longname[0] = '/';
	memset(longname + 1, 'x', 251);
	longname[252] = '\0';
	assert_null(mproc_shm_create(longname, 64, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_shm_open(f->name));
	assert_int_equal(errno, ENOENT);
}

static void
test_shm_create_huge_fails_enomem_and_leaves_nothing(void **state)
{
	struct fixture *f = *state;

	assert_null(mproc_shm_create(f->name, SIZE_MAX, 0));
	assert_int_equal(errno, ENOMEM);
	assert_null(mproc_shm_open(f->name));
	assert_int_equal(errno, ENOENT);
}

static void
test_shm_open_sees_what_creator_wrote(void **state)
{
	struct fixture *f = *state;
	mproc_shm *other;

	f->s = mproc_shm_create(f->name, 4096, 0);
	assert_non_null(f->s);
	strcpy(mproc_shm_addr(f->s), "hello");
	other = mproc_shm_open(f->name);
	assert_non_null(other);
	assert_int_equal(mproc_shm_size(other), 4096);
	assert_string_equal(mproc_shm_addr(other), "hello");
	assert_int_equal(mproc_shm_close(other), 0);
}

static void
test_shm_open_missing_fails_enoent(void **state)
{
	struct fixture *f = *state;

	assert_null(mproc_shm_open(f->name));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mproc_shm_unlink(f->name), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(mproc_shm_open("bad"));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_shm_unlink("bad"), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_shm_open_empty_object_fails_eproto(void **state)
{
	struct fixture *f = *state;
	int fd = shm_open(f->name, O_CREAT | O_EXCL | O_RDWR, 0600);

	assert_true(fd >= 0);
	close(fd);
	assert_null(mproc_shm_open(f->name));
	assert_int_equal(errno, EPROTO);
}

static void
test_shm_anonymous_is_shared_with_forked_child(void **state)
{
	struct fixture *f = *state;
	volatile int *word;
	pid_t pid;

	f->s = mproc_shm_create(NULL, sizeof(int), 0);
	assert_non_null(f->s);
	assert_null(mproc_shm_name(f->s));
	word = mproc_shm_addr(f->s);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		*word = 42;
		_exit(0);
	}
	assert_int_equal(test_reap(pid, 5), 0);
	assert_int_equal(*word, 42);
}

static void
test_shm_unlink_keeps_mapping_and_frees_name(void **state)
{
	struct fixture *f = *state;

	f->s = mproc_shm_create(f->name, 64, 0);
	assert_non_null(f->s);
	assert_int_equal(mproc_shm_unlink(f->name), 0);
	((char *)mproc_shm_addr(f->s))[63] = 1;
	assert_null(mproc_shm_open(f->name));
	assert_int_equal(errno, ENOENT);
}

static void
test_shm_null_handle_fails_einval(void **state)
{
	(void)state;
	assert_int_equal(mproc_shm_close(NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_shm_addr(NULL));
	assert_int_equal(mproc_shm_size(NULL), 0);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_shm_create_named_is_zeroed_and_reports_itself),
		T(test_shm_create_mode_zero_is_0600_despite_umask),
		T(test_shm_create_taken_name_fails_eexist),
		T(test_shm_create_bad_arguments_fail_einval_and_leave_nothing),
		T(test_shm_create_huge_fails_enomem_and_leaves_nothing),
		T(test_shm_open_sees_what_creator_wrote),
		T(test_shm_open_missing_fails_enoent),
		T(test_shm_open_empty_object_fails_eproto),
		T(test_shm_anonymous_is_shared_with_forked_child),
		T(test_shm_unlink_keeps_mapping_and_frees_name),
		T(test_shm_null_handle_fails_einval),
	};
	return cmocka_run_group_tests_name("shm", tests, NULL, NULL);
}
