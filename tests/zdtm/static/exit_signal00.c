// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * exit_signal00: a child created by clone() with exit signal SIGUSR1 keeps
 * it: after restore /proc shows it and the parent gets SIGUSR1 (not SIGCHLD)
 * with the child's pid when it exits.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define STACK_SIZE (256 * 1024)

static volatile int *child_ready;
static volatile sig_atomic_t nusr1, nchld;
static volatile pid_t usr1_pid;
static volatile int usr1_code, usr1_status;

static void usr1_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	nusr1++;
	usr1_pid = si->si_pid;
	usr1_code = si->si_code;
	usr1_status = si->si_status;
}

static void chld_handler(int sig)
{
	(void)sig;
	nchld++;
}

static int child_fn(void *arg)
{
	(void)arg;
	*child_ready = 1;
	test_waitsig();
	_exit(42);
}

static int proc_exit_signal(pid_t pid)
{
	char path[64], buf[1024], *p;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (test_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* Field 3 (state) follows ") "; exit_signal is field 38. */
	p += 2;
	for (i = 3; i < 38; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	return atoi(p);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	char *stack;
	pid_t child, w;
	int st, es, i;

	test_init(argc, argv);
	child_ready = mmap_shared_int();

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = usr1_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		fail("sigaction(SIGUSR1)");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = chld_handler;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGCHLD, &sa, NULL))
		fail("sigaction(SIGCHLD)");

	stack = malloc(STACK_SIZE);
	if (!stack)
		fail("malloc");
	child = clone(child_fn, stack + STACK_SIZE, SIGUSR1, NULL);
	if (child < 0)
		fail("clone");
	while (!*child_ready)
		test_msleep(2);
	if ((es = proc_exit_signal(child)) != SIGUSR1)
		fail("setup: exit_signal %d", es);

	test_daemon();
	test_waitsig();

	if ((es = proc_exit_signal(child)) != SIGUSR1)
		fail("child exit_signal %d in /proc, expected %d", es, SIGUSR1);
	if (nusr1 || nchld)
		fail("signals before the child exited: %d SIGUSR1, %d SIGCHLD", nusr1, nchld);

	kill(child, SIGTERM);
	for (i = 0; i < 500 && !nusr1; i++)
		test_msleep(10);
	if (!nusr1)
		fail("no SIGUSR1 within 5 s of the child's exit");
	if (usr1_pid != child)
		fail("SIGUSR1 from pid %d, expected the child %d", usr1_pid, child);
	if (usr1_code != CLD_EXITED || usr1_status != 42)
		fail("SIGUSR1 si_code %d si_status %d, expected CLD_EXITED/42", usr1_code, usr1_status);
	/* A non-SIGCHLD child is only waited for with __WCLONE/__WALL. */
	w = waitpid(child, &st, __WALL);
	if (w != child || !WIFEXITED(st) || WEXITSTATUS(st) != 42)
		fail("waitpid: %d status 0x%x", w, st);
	if (nchld)
		fail("got %d SIGCHLD as well", nchld);
	pass();
}
