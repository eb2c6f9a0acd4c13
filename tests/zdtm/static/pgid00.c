// SPDX-License-Identifier: LGPL-2.1-or-later
/* pgid00: process groups of a small tree (children in other groups, cross joins). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

struct shared {
	volatile int ready;
	volatile pid_t c;
};

static struct shared *sh;

static void check(const char *who, pid_t pgid, pid_t sid)
{
	if (getpgid(0) != pgid)
		fail("%s: pgid %d, expected %d", who, getpgid(0), pgid);
	if (getsid(0) != sid)
		fail("%s: sid %d, expected %d", who, getsid(0), sid);
}

static void reap(pid_t pid, const char *who)
{
	int st;

	if (kill(pid, SIGTERM) < 0)
		fail("%s: child %d is gone", who, pid);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("%s: child %d failed (status 0x%x)", who, pid, st);
}

int main(int argc, char **argv)
{
	pid_t r, a, b, d;

	test_init(argc, argv);
	r = getpid();
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail("mmap");

	/* A: leader of its own group; its child C moves back into R's group. */
	a = fork();
	if (a < 0)
		fail("fork");
	if (a == 0) {
		pid_t c;

		setpgid(0, 0);
		c = fork();
		if (c < 0)
			fail("fork");
		if (c == 0) {
			if (setpgid(0, r))
				fail("C: setpgid(0, %d)", r);
			__sync_fetch_and_add(&sh->ready, 1);
			test_waitsig();
			check("C", r, r);
			exit(0);
		}
		sh->c = c;
		__sync_fetch_and_add(&sh->ready, 1);
		test_waitsig();
		check("A", getpid(), r);
		if (getpgid(c) != r)
			fail("A: pgid of C %d, expected %d", getpgid(c), r);
		reap(c, "A");
		exit(0);
	}
	setpgid(a, a);

	/* B: joins A's group. */
	b = fork();
	if (b < 0)
		fail("fork");
	if (b == 0) {
		if (setpgid(0, a))
			fail("B: setpgid(0, %d)", a);
		__sync_fetch_and_add(&sh->ready, 1);
		test_waitsig();
		check("B", a, r);
		exit(0);
	}
	/* D: stays in R's group. */
	d = fork();
	if (d < 0)
		fail("fork");
	if (d == 0) {
		__sync_fetch_and_add(&sh->ready, 1);
		test_waitsig();
		check("D", r, r);
		exit(0);
	}
	while (sh->ready < 4)
		test_msleep(5);

	test_daemon();
	test_waitsig();

	check("R", r, r);
	if (getpgid(a) != a || getpgid(b) != a || getpgid(d) != r || getpgid(sh->c) != r)
		fail("R: pgids A %d B %d C %d D %d, expected %d %d %d %d", getpgid(a), getpgid(b),
		     getpgid(sh->c), getpgid(d), a, a, r, r);
	reap(a, "R");
	reap(b, "R");
	reap(d, "R");
	pass();
}
