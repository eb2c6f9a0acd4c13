// SPDX-License-Identifier: LGPL-2.1-or-later
/* cwd00: the working directory (a subdirectory of the test dir) is restored, for root and child. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static void check(const char *who, const char *path, const struct stat *want)
{
	char cwd[PATH_MAX];
	struct stat st;

	if (!getcwd(cwd, sizeof(cwd)))
		fail("%s: getcwd", who);
	if (strcmp(cwd, path))
		fail("%s: cwd is %s, expected %s", who, cwd, path);
	if (stat(".", &st) || st.st_dev != want->st_dev || st.st_ino != want->st_ino)
		fail("%s: '.' is not the same directory", who);
	if (access("marker", F_OK))
		fail("%s: relative path 'marker' not found", who);
}

int main(int argc, char **argv)
{
	char top[PATH_MAX], a[PATH_MAX + 16], b[PATH_MAX + 32];
	struct stat sa, sb;
	volatile int *ready;
	pid_t child;
	int st;

	test_init(argc, argv);
	ready = mmap_shared_int();
	if (!getcwd(top, sizeof(top)))
		fail("getcwd");
	snprintf(a, sizeof(a), "%s/cwd00.d", top);
	snprintf(b, sizeof(b), "%s/cwd00.d/sub dir", top);
	if ((mkdir(a, 0755) && access(a, F_OK)) || (mkdir(b, 0700) && access(b, F_OK)))
		fail("mkdir");
	if (close(creat("cwd00.d/marker", 0644)) || close(creat("cwd00.d/sub dir/marker", 0644)))
		fail("creat marker");
	if (stat(a, &sa) || stat(b, &sb))
		fail("stat");
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		if (chdir(b))
			fail("chdir %s", b);
		*ready = 1;
		test_waitsig();
		check("child", b, &sb);
		exit(0);
	}
	if (chdir(a))
		fail("chdir %s", a);
	while (!*ready)
		test_msleep(2);

	test_daemon();
	test_waitsig();

	check("root", a, &sa);
	kill(child, SIGTERM);
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("child failed (status 0x%x)", st);
	pass();
}
