// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * session01: a session whose leader is a zombie; its member was re-parented
 * to the root (a child subreaper).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

struct shared {
	volatile int ready;
	volatile pid_t a1;
};

int main(int argc, char **argv)
{
	struct shared *sh;
	pid_t r, a, a1;
	siginfo_t si;
	int st;

	test_init(argc, argv);
	r = getpid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		fail("PR_SET_CHILD_SUBREAPER");
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail("mmap");

	a = fork();
	if (a < 0)
		fail("fork");
	if (a == 0) {
		pid_t me = getpid();

		if (setsid() != me)
			fail("A: setsid");
		a1 = fork();
		if (a1 < 0)
			fail("A: fork");
		if (a1 == 0) {
			while (getppid() == me)
				test_msleep(5);
			__sync_fetch_and_add(&sh->ready, 1);
			test_waitsig();
			if (getsid(0) != me || getpgid(0) != me || getppid() != r)
				fail("A1: sid %d pgid %d ppid %d, expected %d %d %d", getsid(0), getpgid(0),
				     getppid(), me, me, r);
			exit(0);
		}
		sh->a1 = a1;
		_exit(7);
	}
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, a, &si, WEXITED | WNOWAIT) < 0)
		fail("waitid");
	while (sh->ready < 1)
		test_msleep(5);
	a1 = sh->a1;

	test_daemon();
	test_waitsig();

	if (getsid(a1) != a || getpgid(a1) != a)
		fail("R: A1 sid %d pgid %d, expected %d", getsid(a1), getpgid(a1), a);
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, a, &si, WEXITED | WNOWAIT | WNOHANG) < 0 || si.si_pid != a ||
	    si.si_code != CLD_EXITED || si.si_status != 7)
		fail("R: leader %d is not a zombie with exit 7 (code %d status %d)", a, si.si_code,
		     si.si_status);
	kill(a1, SIGTERM);
	if (waitpid(a1, &st, 0) != a1 || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("R: A1 failed (status 0x%x)", st);
	if (waitpid(a, &st, 0) != a || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
		fail("R: leader status 0x%x", st);
	pass();
}
