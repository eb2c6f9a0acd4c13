// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * FD_CLOEXEC set in every way (O_CLOEXEC, F_SETFD, dup3, F_DUPFD_CLOEXEC,
 * pipe2, socket) on some fds and cleared on others, including two numbers
 * sharing one file with different flags. After C/R F_GETFD is the same for
 * each, and an exec'd copy of the test sees exactly the fds without it.
 */
#include <sys/socket.h>
#include "fdutil.h"

#define FNAME "cloexec00.data"
#define NFD 10

int main(int argc, char **argv)
{
	int fds[NFD], want[NFD], n = 0, p[2];

	/* exec'd mode: argv lists fds that must be open, then "-" and fds that must not */
	if (argc > 1 && !strcmp(argv[1], "--check-fds")) {
		int open_part = 1;

		for (int i = 2; i < argc; i++) {
			int fd;

			if (!strcmp(argv[i], "-")) {
				open_part = 0;
				continue;
			}
			fd = atoi(argv[i]);
			if ((fcntl(fd, F_GETFD) >= 0) != open_part) {
				dprintf(2, "exec'd: fd %d is %s\n", fd, open_part ? "closed" : "open");
				return 1;
			}
		}
		return 0;
	}

	test_init(argc, argv);
	fds[n] = open(FNAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600), want[n++] = 1;
	fds[n] = open(FNAME, O_RDONLY), want[n++] = 0;
	fds[n] = dup(fds[1]), want[n++] = 0;
	fcntl(fds[n - 1], F_SETFD, FD_CLOEXEC), want[n - 1] = 1;
	fds[n] = dup3(fds[0], 50, O_CLOEXEC), want[n++] = 1;
	fds[n] = dup3(fds[0], 51, 0), want[n++] = 0;	/* same file as fds[0], no cloexec */
	fds[n] = fcntl(fds[1], F_DUPFD_CLOEXEC, 60), want[n++] = 1;
	if (pipe2(p, O_CLOEXEC))
		fail("pipe2");
	fds[n] = p[0], want[n++] = 1;
	fds[n] = p[1], want[n++] = 0;
	fcntl(p[1], F_SETFD, 0);
	fds[n] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), want[n++] = 1;
	fds[n] = socket(AF_UNIX, SOCK_DGRAM, 0), want[n++] = 0;
	for (int i = 0; i < n; i++) {
		if (fds[i] < 0)
			fail("setting up fd %d", i);
		if ((fcntl(fds[i], F_GETFD) == FD_CLOEXEC) != want[i])
			fail("setup: fd %d FD_CLOEXEC %d", fds[i], !want[i]);
	}

	test_daemon();
	test_waitsig();

	for (int i = 0; i < n; i++) {
		int fl = fcntl(fds[i], F_GETFD);

		if (fl != (want[i] ? FD_CLOEXEC : 0))
			fail("fd %d: F_GETFD %d, want %d", fds[i], fl, want[i] ? FD_CLOEXEC : 0);
	}
	check_same_file(fds[0], fds[3], "dup3 with O_CLOEXEC");
	check_same_file(fds[0], fds[4], "dup3 without O_CLOEXEC");
	check_same_file(fds[1], fds[2], "dup");
	{
		char *args[NFD + 4], nums[NFD][16];
		int a = 0;
		pid_t pid;

		args[a++] = "cloexec00";
		args[a++] = "--check-fds";
		for (int i = 0; i < n; i++)
			if (!want[i])
				snprintf(nums[i], 16, "%d", fds[i]), args[a++] = nums[i];
		args[a++] = "-";
		for (int i = 0; i < n; i++)
			if (want[i])
				snprintf(nums[i], 16, "%d", fds[i]), args[a++] = nums[i];
		args[a] = NULL;
		pid = fork();
		if (pid < 0)
			fail("fork");
		if (pid == 0) {
			execv("/proc/self/exe", args);
			_exit(127);
		}
		wait_child_ok(pid, "exec'd fd check");
	}
	pass();
}
