// SPDX-License-Identifier: LGPL-2.1-or-later
/* stopped00: stopped children stay stopped across C/R and continue on SIGCONT. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define N 2

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (test_read_file(path, buf, sizeof(buf)) <= 0)
		return '?';
	p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : '?';
}

int main(int argc, char **argv)
{
	static unsigned char mem[65536];
	pid_t pids[N];
	siginfo_t si;
	int i, st;

	test_init(argc, argv);

	for (i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			fail("fork");
		if (pids[i] == 0) {
			datagen(mem, sizeof(mem), 300 + i);
			kill(getpid(), SIGSTOP);
			/* Only SIGCONT after the restore gets here. */
			if (datachk(mem, sizeof(mem), 300 + i))
				_exit(2);
			_exit(20 + i);
		}
	}
	for (i = 0; i < N; i++) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, pids[i], &si, WSTOPPED | WNOWAIT) < 0 || si.si_code != CLD_STOPPED)
			fail("child %d did not stop", pids[i]);
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < N; i++)
		if (proc_state(pids[i]) != 'T')
			fail("child %d: state '%c', expected stopped", pids[i], proc_state(pids[i]));
	test_msleep(100);
	for (i = 0; i < N; i++) {
		if (proc_state(pids[i]) != 'T')
			fail("child %d: state '%c', expected stopped", pids[i], proc_state(pids[i]));
		kill(pids[i], SIGCONT);
		if (waitpid(pids[i], &st, 0) != pids[i])
			fail("waitpid(%d)", pids[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 20 + i)
			fail("child %d: status 0x%x, expected exit %d", pids[i], st, 20 + i);
	}
	pass();
}
