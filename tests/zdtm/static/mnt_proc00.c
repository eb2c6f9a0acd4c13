// SPDX-License-Identifier: LGPL-2.1-or-later
/* mnt_proc00: /proc is the tree's own: the init reads pid 1 in
 * /proc/self/stat and its child its own inner pid. Needs ZDTM_NEWNS=2. */
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

static int stat_pid(void)
{
	char buf[512];
	int pid = -1;

	if (test_read_file("/proc/self/stat", buf, sizeof(buf)) <= 0 || sscanf(buf, "%d", &pid) != 1)
		return -1;
	return pid;
}

int main(int argc, char **argv)
{
	volatile int *bad = NULL;
	pid_t c;
	int st;

	test_init(argc, argv);
	if (!getenv("ZDTM_NEWNS") || strcmp(getenv("ZDTM_NEWNS"), "2"))
		skip("needs a mount namespace of its own (run.sh --ns-mnt)");
	if (getpid() != 1 || stat_pid() != 1)
		fail("before: getpid %d, /proc/self/stat says %d", getpid(), stat_pid());
	bad = mmap_shared_int();
	c = fork();
	if (c < 0)
		fail("fork");
	if (c == 0) {
		while (!test_sigterm_received())
			test_msleep(20);
		*bad = stat_pid() != getpid();
		_exit(0);
	}
	test_daemon();
	test_waitsig();
	if (stat_pid() != 1)
		fail("after: /proc/self/stat says pid %d, expected 1", stat_pid());
	kill(c, SIGTERM);
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || *bad)
		fail("child %d: its /proc/self/stat is not its own", c);
	pass();
}
