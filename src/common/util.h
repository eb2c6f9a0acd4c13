/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by the engine and the CLI: cleanup, allocation, I/O. */
#ifndef CR_COMMON_UTIL_H
#define CR_COMMON_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#include <sys/user.h>
#ifndef PAGE_SIZE
#define PAGE_SIZE 4096UL
#endif
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b) ((t)(a) > (t)(b) ? (t)(a) : (t)(b))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int e = errno;
		close(*fd);
		errno = e;
	}
}
static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

#define TAKE_PTR(p) ({ typeof(p) __p = (p); (p) = NULL; __p; })
#define TAKE_FD(fd) ({ int __fd = (fd); (fd) = -1; __fd; })

void *xzalloc(size_t size);
void *xrealloc_array(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xsprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read a whole small file (e.g. under /proc) into a NUL-terminated buffer. */
char *read_file_at(int dirfd, const char *path, size_t *len);
int write_all(int fd, const void *buf, size_t len);
int read_all(int fd, void *buf, size_t len);
int close_fds_from(int lowfd);

#endif
