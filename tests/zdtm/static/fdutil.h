/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small helpers shared by the fd/file/socket tests of the ZDTM suite.
 * Everything is static inline so each test stays one translation unit.
 */
#ifndef ZDTM_FDUTIL_H
#define ZDTM_FDUTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/kcmp.h>

#include "zdtmtst.h"

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			fail(__VA_ARGS__);                                     \
	} while (0)

/* Read exactly len bytes unless EOF/error comes first; returns bytes read or -1. */
static inline ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = read(fd, (char *)buf + done, len - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return done ? (ssize_t)done : -1;
		if (r == 0)
			break;
		done += r;
	}
	return done;
}

static inline ssize_t write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = write(fd, (const char *)buf + done, len - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		done += r;
	}
	return done;
}

/* Fill buf with the pattern for seed and write it all; fail() otherwise. */
static inline void write_pattern(int fd, size_t len, uint32_t seed, const char *what)
{
	char *buf = malloc(len ? len : 1);

	if (!buf)
		fail("%s: malloc", what);
	datagen(buf, len, seed);
	if (write_full(fd, buf, len) != (ssize_t)len)
		fail("%s: cannot write %zu bytes", what, len);
	free(buf);
}

/* Read exactly len bytes and check they match the pattern for seed. */
static inline void read_pattern(int fd, size_t len, uint32_t seed, const char *what)
{
	char *buf = malloc(len ? len : 1);
	ssize_t r;

	if (!buf)
		fail("%s: malloc", what);
	r = read_full(fd, buf, len);
	if (r != (ssize_t)len)
		fail("%s: read %zd bytes, want %zu", what, r, len);
	if (datachk(buf, len, seed))
		fail("%s: %zu bytes do not match the pattern (seed %u)", what, len, seed);
	free(buf);
}

/* 0 if both fds (possibly of different processes) are the same open file. */
static inline int kcmp_file(pid_t p1, int fd1, pid_t p2, int fd2)
{
	return syscall(SYS_kcmp, p1, p2, KCMP_FILE, fd1, fd2);
}

static inline void check_same_file(int fd1, int fd2, const char *what)
{
	int r = kcmp_file(getpid(), fd1, getpid(), fd2);

	if (r != 0)
		fail("%s: fds %d and %d are not the same open file (kcmp %d)", what, fd1, fd2, r);
}

static inline void check_other_file(int fd1, int fd2, const char *what)
{
	int r = kcmp_file(getpid(), fd1, getpid(), fd2);

	if (r <= 0)
		fail("%s: fds %d and %d should be different open files (kcmp %d)", what, fd1, fd2, r);
}

/* Copy the value of "key:" from /proc/self/fdinfo/fd into val (trimmed); 0 on success. */
static inline int fdinfo_get(int fd, const char *key, char *val, size_t size)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	FILE *f;
	int ret = -1;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		size_t vlen;
		char *v;

		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		v = line + klen + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		vlen = strcspn(v, "\n");
		if (vlen >= size)
			vlen = size - 1;
		memcpy(val, v, vlen);
		val[vlen] = '\0';
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

static inline off_t fd_pos(int fd)
{
	return lseek(fd, 0, SEEK_CUR);
}

static inline void check_pos(int fd, off_t want, const char *what)
{
	off_t pos = fd_pos(fd);

	if (pos != want)
		fail("%s: fd %d offset %lld, want %lld", what, fd, (long long)pos, (long long)want);
}

/* What an fd looks like from inside the process; snapshot before C/R, compare after. */
struct fd_snap {
	int fl;		/* F_GETFL */
	int fdfl;	/* F_GETFD */
	struct stat st;
	off_t pos;	/* -1 if not seekable */
};

static inline void fd_snap(int fd, struct fd_snap *s, const char *what)
{
	s->fl = fcntl(fd, F_GETFL);
	s->fdfl = fcntl(fd, F_GETFD);
	if (s->fl < 0 || s->fdfl < 0 || fstat(fd, &s->st))
		fail("%s: fd %d is not open", what, fd);
	s->pos = lseek(fd, 0, SEEK_CUR);
}

/* ident: also require the same device/inode (files that exist in the fs). */
static inline void fd_snap_check(int fd, const struct fd_snap *s, bool ident, const char *what)
{
	struct fd_snap n;

	fd_snap(fd, &n, what);
	if (n.fl != s->fl)
		fail("%s: fd %d F_GETFL %#o, was %#o", what, fd, n.fl, s->fl);
	if (n.fdfl != s->fdfl)
		fail("%s: fd %d F_GETFD %#x, was %#x", what, fd, n.fdfl, s->fdfl);
	if ((n.st.st_mode & S_IFMT) != (s->st.st_mode & S_IFMT))
		fail("%s: fd %d file type %#o, was %#o", what, fd, n.st.st_mode & S_IFMT,
		     s->st.st_mode & S_IFMT);
	if (n.st.st_rdev != s->st.st_rdev)
		fail("%s: fd %d rdev %#llx, was %#llx", what, fd,
		     (unsigned long long)n.st.st_rdev, (unsigned long long)s->st.st_rdev);
	if (ident && (n.st.st_dev != s->st.st_dev || n.st.st_ino != s->st.st_ino))
		fail("%s: fd %d is inode %llu, was %llu", what, fd,
		     (unsigned long long)n.st.st_ino, (unsigned long long)s->st.st_ino);
	if (n.pos != s->pos)
		fail("%s: fd %d offset %lld, was %lld", what, fd, (long long)n.pos,
		     (long long)s->pos);
}

/* Wait for a child and require exit status 0 (it prints its own reason otherwise). */
static inline void wait_child_ok(pid_t pid, const char *what)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			fail("%s: waitpid %d", what, pid);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("%s: child %d ended with status %#x", what, pid, st);
}

/* Nothing more to read right now on a non-blocking read. */
static inline void check_drained(int fd, const char *what)
{
	char c;
	ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);

	if (r < 0 && errno == ENOTSOCK) {
		int fl = fcntl(fd, F_GETFL);

		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		r = read(fd, &c, 1);
		fcntl(fd, F_SETFL, fl);
	}
	if (r != -1 || errno != EAGAIN)
		fail("%s: fd %d has more data than expected (read %zd)", what, fd, r);
}

#endif
