// SPDX-License-Identifier: LGPL-2.1-or-later
/* zombie00: unreaped children that exited with specific codes stay zombies. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static const int codes[] = { 0, 1, 42, 255 };
#define N (int)(sizeof(codes) / sizeof(codes[0]))

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
	pid_t pids[N];
	siginfo_t si;
	int i, st;

	test_init(argc, argv);

	for (i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			fail("fork");
		if (pids[i] == 0)
			_exit(codes[i]);
	}
	for (i = 0; i < N; i++) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, pids[i], &si, WEXITED | WNOWAIT) < 0)
			fail("waitid(%d)", pids[i]);
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < N; i++) {
		if (proc_state(pids[i]) != 'Z')
			fail("child %d: state '%c', expected zombie", pids[i], proc_state(pids[i]));
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, pids[i], &si, WEXITED | WNOWAIT | WNOHANG) < 0 || si.si_pid != pids[i])
			fail("child %d: not waitable", pids[i]);
		if (si.si_code != CLD_EXITED || si.si_status != codes[i])
			fail("child %d: si_code %d si_status %d, expected exited %d", pids[i], si.si_code,
			     si.si_status, codes[i]);
	}
	for (i = N - 1; i >= 0; i--) {
		if (waitpid(pids[i], &st, WNOHANG) != pids[i])
			fail("waitpid(%d) did not reap", pids[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != codes[i])
			fail("child %d: status 0x%x, expected exit %d", pids[i], st, codes[i]);
	}
	if (waitpid(-1, &st, WNOHANG) != -1)
		fail("unexpected extra child");
	pass();
}
