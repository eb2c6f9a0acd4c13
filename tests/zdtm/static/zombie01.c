// SPDX-License-Identifier: LGPL-2.1-or-later
/* zombie01: zombies of children killed by signals keep the signal (no core flag). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define N 5

int main(int argc, char **argv)
{
	int sigs[N] = { SIGKILL, SIGUSR1, SIGHUP, SIGALRM, 0 };
	pid_t pids[N];
	siginfo_t si;
	int i, st;

	test_init(argc, argv);
	sigs[4] = SIGRTMIN + 3;

	for (i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			fail("fork");
		if (pids[i] == 0) {
			signal(sigs[i], SIG_DFL);
			kill(getpid(), sigs[i]);
			_exit(99);
		}
	}
	for (i = 0; i < N; i++)
		if (waitid(P_PID, pids[i], &si, WEXITED | WNOWAIT) < 0)
			fail("waitid(%d)", pids[i]);

	test_daemon();
	test_waitsig();

	for (i = 0; i < N; i++) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, pids[i], &si, WEXITED | WNOWAIT | WNOHANG) < 0 || si.si_pid != pids[i])
			fail("child %d: not a zombie any more", pids[i]);
		if (si.si_code != CLD_KILLED || si.si_status != sigs[i])
			fail("child %d: si_code %d si_status %d, expected killed by %d", pids[i], si.si_code,
			     si.si_status, sigs[i]);
		if (waitpid(pids[i], &st, WNOHANG) != pids[i])
			fail("waitpid(%d) did not reap", pids[i]);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != sigs[i] || WCOREDUMP(st))
			fail("child %d: status 0x%x, expected signal %d without core", pids[i], st, sigs[i]);
	}
	pass();
}
