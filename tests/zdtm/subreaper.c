/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zdtm-subreaper: run a command as a child subreaper and reap every orphan.
 *
 * PID 1 on the test machines does not reap orphans, so a daemonized test
 * that gets killed by a dump would stay a zombie and keep its PID taken.
 * Usage: zdtm-subreaper CMD [ARGS...]; exits with CMD's exit code.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int status, code = 1;
	double deadline;
	pid_t child, pid;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CMD [ARGS...]\n", argv[0]);
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		perror("PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	/* Let a terminal's ^C reach the command, not kill us before it. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);

	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		/* Shells here pass stray descriptors; the tree gets none. */
		syscall(SYS_close_range, 3, ~0U, 0);
		execvp(argv[1], argv + 1);
		fprintf(stderr, "exec %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}

	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			perror("waitpid");
			return 1;
		}
		if (pid != child)
			continue;
		if (WIFEXITED(status))
			code = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			code = 128 + WTERMSIG(status);
		break;
	}

	/* Keep reaping orphans the command left behind, for a while. */
	deadline = now() + 2.0;
	while (now() < deadline) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == ECHILD)
			break;
		if (pid <= 0) {
			struct timespec ts = { 0, 20 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	return code;
}
