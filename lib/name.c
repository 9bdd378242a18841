/* name.c - the rules for names of shared objects (queues, segments). */
#include "config.h"

#include <string.h>

#include "internal.h"

int
mproc__name_check(const char *name)
{
	size_t len;

	if (name == NULL || name[0] != '/')
		return -EINVAL;
	len = strnlen(name + 1, MPROC_NAME_MAX + 1);
	if (len == 0 || len > MPROC_NAME_MAX)
		return -EINVAL;
	if (memchr(name + 1, '/', len) != NULL)
		return -EINVAL;
	return 0;
}
