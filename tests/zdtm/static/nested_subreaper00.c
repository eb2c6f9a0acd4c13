// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nested_subreaper00: a child of the test root is a child subreaper; its own
 * child forked two grandchildren and exited, so they were reparented to the
 * subreaper (not to the root). After C/R the subreaper flag, pids, parents,
 * process group and session are the same, and the subreaper can signal and
 * wait for the adopted orphans.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NORPHANS 2

struct shared {
	pid_t root, reaper, middle, orphan[NORPHANS];
	pid_t pgid, sid;
	volatile int orphan_ready[NORPHANS];
	volatile int reaper_ready;
};

static struct shared *sh;

static void orphan_main(int i)
{
	sh->orphan[i] = getpid();
	sh->orphan_ready[i] = 1;
	test_waitsig();
	if (getppid() != sh->reaper)
		fail("orphan %d: parent %d, expected the subreaper %d", i, getppid(), sh->reaper);
	if (getpgrp() != sh->pgid || getsid(0) != sh->sid)
		fail("orphan %d: pgid %d sid %d, expected %d %d", i, getpgrp(), getsid(0), sh->pgid,
		     sh->sid);
	exit(10 + i);
}

static void reaper_main(void)
{
	pid_t mid, w;
	int i, st, v;

	sh->reaper = getpid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		fail("PR_SET_CHILD_SUBREAPER");
	mid = fork();
	if (mid < 0)
		fail("fork");
	if (mid == 0) {
		for (i = 0; i < NORPHANS; i++) {
			pid_t p = fork();

			if (p < 0)
				fail("fork orphan");
			if (p == 0)
				orphan_main(i);
		}
		for (i = 0; i < NORPHANS; i++)
			while (!sh->orphan_ready[i])
				test_msleep(2);
		_exit(0);
	}
	sh->middle = mid;
	if (waitpid(mid, &st, 0) != mid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("middle child failed (status 0x%x)", st);
	/* Wait for the reparenting to be visible in the orphans' /proc stat. */
	for (i = 0; i < NORPHANS; i++) {
		char path[64], buf[512], *p;
		int tries = 0;

		snprintf(path, sizeof(path), "/proc/%d/stat", sh->orphan[i]);
		for (;;) {
			if (test_read_file(path, buf, sizeof(buf)) <= 0)
				fail("read %s", path);
			p = strrchr(buf, ')');
			if (p && atoi(p + 4) == sh->reaper)
				break;
			if (++tries > 1000)
				fail("orphan %d was not reparented to the subreaper", i);
			test_msleep(5);
		}
	}
	sh->reaper_ready = 1;
	test_waitsig();

	v = 0;
	if (prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0) || v != 1)
		fail("subreaper: PR_GET_CHILD_SUBREAPER %d, expected 1", v);
	if (getppid() != sh->root)
		fail("subreaper: parent %d, expected %d", getppid(), sh->root);
	for (i = 0; i < NORPHANS; i++)
		kill(sh->orphan[i], SIGTERM);
	for (i = 0; i < NORPHANS; i++) {
		w = waitpid(sh->orphan[i], &st, 0);
		if (w != sh->orphan[i])
			fail("subreaper: waitpid(orphan %d) returned %d", i, w);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 10 + i)
			fail("subreaper: orphan %d status 0x%x", i, st);
	}
	if (waitpid(-1, &st, WNOHANG) != -1)
		fail("subreaper: unexpected extra child");
	exit(0);
}

int main(int argc, char **argv)
{
	pid_t reaper;
	int st, v;

	test_init(argc, argv);
	sh = (struct shared *)mmap_shared_int();
	sh->root = getpid();
	sh->pgid = getpgrp();
	sh->sid = getsid(0);
	reaper = fork();
	if (reaper < 0)
		fail("fork");
	if (reaper == 0)
		reaper_main();
	while (!sh->reaper_ready)
		test_msleep(2);

	test_daemon();
	test_waitsig();

	v = -1;
	if (prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0) || v != 0)
		fail("root: PR_GET_CHILD_SUBREAPER %d, expected 0", v);
	kill(reaper, SIGTERM);
	if (waitpid(reaper, &st, 0) != reaper || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("subreaper failed (status 0x%x)", st);
	pass();
}
