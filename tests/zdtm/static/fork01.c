// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fork01: a chain of four processes (root -> 1 -> 2 -> 3, plain fork), each
 * link joined by two pipes holding unread data in both directions. After C/R
 * the pids and parents are the same and every byte in flight arrives, with
 * nothing extra behind it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LEVELS 4
#define DOWN_LEN 20000 /* parent -> child */
#define UP_LEN 9000    /* child -> parent */

struct shared {
	pid_t pid[LEVELS];
	volatile int ready[LEVELS];
};

static struct shared *sh;

static void check_pipe(int fd, size_t len, uint32_t seed, int level, const char *what)
{
	unsigned char *buf = malloc(len + 1);
	size_t got = 0;
	ssize_t n;
	long off;

	if (!buf)
		fail("malloc");
	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("level %d: %s pipe: read returned %zd after %zu of %zu bytes", level, what, n,
			     got, len);
		got += n;
	}
	if ((off = datadiff(buf, len, seed)) >= 0)
		fail("level %d: %s pipe data differs at byte %ld", level, what, off);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	n = read(fd, buf, 1);
	if (n != -1 || errno != EAGAIN)
		fail("level %d: %s pipe has extra data (read %zd)", level, what, n);
	free(buf);
}

static void write_all(int fd, size_t len, uint32_t seed)
{
	unsigned char *buf = malloc(len);

	if (!buf)
		fail("malloc");
	datagen(buf, len, seed);
	if (write(fd, buf, len) != (ssize_t)len)
		fail("pipe write");
	free(buf);
}

/* Runs level `level` (0 is the test's root task). Returns only in level 0. */
static void run_level(int level, int up_rd, int up_wr)
{
	int down[2] = { -1, -1 }, up[2] = { -1, -1 }, st;
	pid_t child = 0, w;

	sh->pid[level] = getpid();
	if (level + 1 < LEVELS) {
		if (pipe(down) || pipe(up))
			fail("pipe");
		child = fork();
		if (child < 0)
			fail("fork");
		if (child == 0) {
			close(down[1]);
			close(up[0]);
			run_level(level + 1, down[0], up[1]);
			exit(0); /* not reached */
		}
		close(down[0]);
		close(up[1]);
		write_all(down[1], DOWN_LEN, 100 + level);
	}
	if (level > 0)
		write_all(up_wr, UP_LEN, 200 + level);
	sh->ready[level] = 1;
	if (level > 0)
		test_waitsig();
	if (level == 0) {
		int i;

		for (i = 0; i < LEVELS; i++)
			while (!sh->ready[i])
				test_msleep(2);
		test_daemon();
		test_waitsig();
	}

	/* Verify, then pass SIGTERM down and collect the child's result. */
	if (getpid() != sh->pid[level])
		fail("level %d: pid %d, expected %d", level, getpid(), sh->pid[level]);
	if (level > 0 && getppid() != sh->pid[level - 1])
		fail("level %d: parent %d, expected %d", level, getppid(), sh->pid[level - 1]);
	if (level > 0)
		check_pipe(up_rd, DOWN_LEN, 100 + level - 1, level, "downward");
	if (child) {
		check_pipe(up[0], UP_LEN, 200 + level + 1, level, "upward");
		kill(child, SIGTERM);
		w = waitpid(child, &st, 0);
		if (w != child || !WIFEXITED(st) || WEXITSTATUS(st))
			fail("level %d: child %d failed (status 0x%x)", level, child, st);
	}
	if (level > 0)
		exit(0);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	sh = (struct shared *)mmap_shared_int();
	run_level(0, -1, -1);
	pass();
}
