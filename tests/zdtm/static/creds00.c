// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * creds00: a child with distinct non-root real/effective/saved uids and gids,
 * fs ids and a supplementary group list keeps all of them; the root task
 * keeps its own (root) credentials.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define RUID 1001
#define EUID 1002
#define SUID 1003
#define RGID 2001
#define EGID 2002
#define SGID 2003
#define NGROUPS 5

static const gid_t groups[NGROUPS] = { 3001, 3005, 3003, 2002, 65000 };

static void check_ids(const char *who, uid_t ru, uid_t eu, uid_t su, gid_t rg, gid_t eg, gid_t sg)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	int fs;

	if (getresuid(&r, &e, &s))
		fail("%s: getresuid", who);
	if (r != ru || e != eu || s != su)
		fail("%s: uids %u/%u/%u, expected %u/%u/%u", who, r, e, s, ru, eu, su);
	if (getresgid(&gr, &ge, &gs))
		fail("%s: getresgid", who);
	if (gr != rg || ge != eg || gs != sg)
		fail("%s: gids %u/%u/%u, expected %u/%u/%u", who, gr, ge, gs, rg, eg, sg);
	/* setfs*id(-1) fails and returns the current value. */
	if ((fs = setfsuid(-1)) != (int)eu)
		fail("%s: fsuid %d, expected %u", who, fs, eu);
	if ((fs = setfsgid(-1)) != (int)eg)
		fail("%s: fsgid %d, expected %u", who, fs, eg);
}

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	volatile int *child_ready;
	gid_t got[64], want[NGROUPS];
	pid_t child;
	int n, i, st;

	test_init(argc, argv);
	child_ready = mmap_shared_int();
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		if (setgroups(NGROUPS, groups))
			fail("child: setgroups");
		if (setresgid(RGID, EGID, SGID))
			fail("child: setresgid");
		if (setresuid(RUID, EUID, SUID))
			fail("child: setresuid");
		check_ids("child before", RUID, EUID, SUID, RGID, EGID, SGID);
		*child_ready = 1;
		test_waitsig();
		check_ids("child", RUID, EUID, SUID, RGID, EGID, SGID);
		n = getgroups(64, got);
		if (n != NGROUPS)
			fail("child: %d supplementary groups, expected %d", n, NGROUPS);
		memcpy(want, groups, sizeof(want));
		qsort(want, NGROUPS, sizeof(gid_t), cmp_gid);
		qsort(got, n, sizeof(gid_t), cmp_gid);
		for (i = 0; i < NGROUPS; i++)
			if (got[i] != want[i])
				fail("child: group #%d is %u, expected %u", i, got[i], want[i]);
		exit(0);
	}
	while (!*child_ready)
		test_msleep(2);

	test_daemon();
	test_waitsig();

	check_ids("root task", 0, 0, 0, 0, 0, 0);
	kill(child, SIGTERM);
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("child failed (status 0x%x)", st);
	pass();
}
