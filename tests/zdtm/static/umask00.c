// SPDX-License-Identifier: LGPL-2.1-or-later
/* umask00: the umask of the root and of a child (a different one) is restored and applied. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static void check(mode_t want, const char *file)
{
	struct stat st;
	mode_t cur = umask(want);
	int fd;

	if (cur != want)
		fail("umask %03o, expected %03o", cur, want);
	fd = open(file, O_CREAT | O_EXCL | O_WRONLY, 0777);
	if (fd < 0 || fstat(fd, &st))
		fail("create %s", file);
	close(fd);
	if ((st.st_mode & 0777) != (0777 & ~want))
		fail("%s created with mode %03o under umask %03o", file, st.st_mode & 0777, want);
}

int main(int argc, char **argv)
{
	volatile int *ready;
	pid_t child;
	int st;

	test_init(argc, argv);
	ready = mmap_shared_int();
	umask(027);
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		umask(0751);
		*ready = 1;
		test_waitsig();
		check(0751, "umask00.child");
		exit(0);
	}
	while (!*ready)
		test_msleep(2);

	test_daemon();
	test_waitsig();

	check(027, "umask00.root");
	kill(child, SIGTERM);
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("child failed (status 0x%x)", st);
	pass();
}
