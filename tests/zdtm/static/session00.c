// SPDX-License-Identifier: LGPL-2.1-or-later
/* session00: several sessions and groups inside one tree. */
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
	volatile pid_t a1, a2;
};

static struct shared *sh;

static void check(const char *who, pid_t pgid, pid_t sid)
{
	if (getsid(0) != sid)
		fail("%s: sid %d, expected %d", who, getsid(0), sid);
	if (getpgid(0) != pgid)
		fail("%s: pgid %d, expected %d", who, getpgid(0), pgid);
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
	pid_t r, a, b;

	test_init(argc, argv);
	r = getpid();
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail("mmap");

	a = fork();
	if (a < 0)
		fail("fork");
	if (a == 0) {
		pid_t me = getpid(), a1, a2;

		if (setsid() != me)
			fail("A: setsid");
		a1 = fork();
		if (a1 == 0) {
			setpgid(0, 0);
			__sync_fetch_and_add(&sh->ready, 1);
			test_waitsig();
			check("A1", getpid(), me);
			exit(0);
		}
		a2 = fork();
		if (a2 == 0) {
			__sync_fetch_and_add(&sh->ready, 1);
			test_waitsig();
			check("A2", me, me);
			exit(0);
		}
		if (a1 < 0 || a2 < 0)
			fail("A: fork");
		setpgid(a1, a1);
		sh->a1 = a1;
		sh->a2 = a2;
		__sync_fetch_and_add(&sh->ready, 1);
		test_waitsig();
		check("A", me, me);
		if (getsid(a1) != me || getsid(a2) != me || getpgid(a1) != a1 || getpgid(a2) != me)
			fail("A: children sid %d/%d pgid %d/%d", getsid(a1), getsid(a2), getpgid(a1),
			     getpgid(a2));
		reap(a1, "A");
		reap(a2, "A");
		exit(0);
	}
	b = fork();
	if (b < 0)
		fail("fork");
	if (b == 0) {
		setpgid(0, 0);
		__sync_fetch_and_add(&sh->ready, 1);
		test_waitsig();
		check("B", getpid(), r);
		exit(0);
	}
	setpgid(b, b);
	while (sh->ready < 4)
		test_msleep(5);

	test_daemon();
	test_waitsig();

	check("R", r, r);
	if (getsid(a) != a || getsid(b) != r || getsid(sh->a1) != a || getsid(sh->a2) != a)
		fail("R: sids A %d B %d A1 %d A2 %d", getsid(a), getsid(b), getsid(sh->a1),
		     getsid(sh->a2));
	reap(a, "R");
	reap(b, "R");
	pass();
}
