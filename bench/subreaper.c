// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * subreaper: run a command as a child subreaper that reaps every orphan.
 *
 * PID 1 on the benchmark machines does not reap orphans, so a process that
 * `restore -d` leaves behind (or a dumped task that dies) would stay a zombie
 * and keep its PID, making the next restore with the same PID fail.
 *
 * Usage: subreaper CMD [ARGS...]
 * Closes every descriptor above 2, runs CMD, reaps all descendants that get
 * reparented here, and exits with CMD's status once CMD has exited.
 * Descendants still alive at that point are left to the next reaper.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static void close_extra_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int dfd;

	if (!d) {
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		return;
	}
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd <= 2 || fd == dfd)
			continue;
		close(fd);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	pid_t child, pid;
	int status, ret = 127;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CMD [ARGS...]\n", argv[0]);
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) {
		perror("prctl(PR_SET_CHILD_SUBREAPER)");
		return 1;
	}
	close_extra_fds();

	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "subreaper: exec %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}

	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD */
		}
		if (pid != child)
			continue;
		if (WIFEXITED(status))
			ret = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			ret = 128 + WTERMSIG(status);
		/* Reap orphans already waiting, then leave. */
		while (waitpid(-1, &status, WNOHANG) > 0)
			;
		break;
	}
	return ret;
}
