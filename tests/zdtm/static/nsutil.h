/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers of the namespace tests. */
#ifndef ZDTM_NSUTIL_H
#define ZDTM_NSUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static inline void nsutil_write(pid_t pid, const char *name, const char *text)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		fprintf(stderr, "FAIL: cannot write %s: %s\n", path, strerror(errno));
		_exit(1);
	}
	close(fd);
}

/*
 * This process (the launcher, before test_init()) into a new user namespace
 * with map as its uid_map and gid_map, written by a child that stays in the
 * parent namespace (only there may a map have several lines); setgroups
 * ("deny" or "allow"), when not NULL, is written first.
 */
static inline void enter_userns_sg(const char *map, const char *setgroups)
{
	int p[2], q[2], st;
	char c;
	pid_t l = getpid(), w;

	if (pipe(p) < 0 || pipe(q) < 0)
		exit(1);
	w = fork();
	if (w < 0)
		exit(1);
	if (w == 0) {
		if (read(p[0], &c, 1) != 1)
			_exit(1);
		if (setgroups)
			nsutil_write(l, "setgroups", setgroups);
		nsutil_write(l, "uid_map", map);
		nsutil_write(l, "gid_map", map);
		_exit(write(q[1], "m", 1) != 1);
	}
	if (unshare(CLONE_NEWUSER) < 0) {
		fprintf(stderr, "FAIL: unshare(CLONE_NEWUSER): %s\n", strerror(errno));
		exit(1);
	}
	if (write(p[1], "u", 1) != 1 || read(q[0], &c, 1) != 1 || waitpid(w, &st, 0) != w || st) {
		fprintf(stderr, "FAIL: the maps were not written\n");
		exit(1);
	}
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

static inline void enter_userns(const char *map)
{
	enter_userns_sg(map, NULL);
}

#endif
