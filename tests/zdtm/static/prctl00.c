// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * prctl00: task names (process and thread), dumpable, child subreaper,
 * no_new_privs, timer slack, THP disable and a child's parent-death signal
 * are restored.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MAIN_NAME "zdtm-prctl-main"
#define THR_NAME "zdtm-thr-x"
#define SLACK_MAIN 123456
#define SLACK_THR 654321

static volatile int ready, go, done;
static char thr_err[200];

static void *thread_fn(void *arg)
{
	char name[32] = "";

	prctl(PR_SET_NAME, THR_NAME, 0, 0, 0);
	prctl(PR_SET_TIMERSLACK, SLACK_THR, 0, 0, 0);
	ready = 1;
	while (!go)
		test_msleep(5);
	prctl(PR_GET_NAME, name, 0, 0, 0);
	if (strcmp(name, THR_NAME))
		snprintf(thr_err, sizeof(thr_err), "thread name '%s'", name);
	else if (prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) != SLACK_THR)
		snprintf(thr_err, sizeof(thr_err), "thread timer slack %d",
			 prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
	done = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	volatile int *child_ready;
	char name[32] = "";
	pthread_t th;
	pid_t child;
	int v, st;

	test_init(argc, argv);
	child_ready = mmap_shared_int();
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0))
			fail("PR_SET_PDEATHSIG");
		*child_ready = 1;
		test_waitsig();
		v = 0;
		prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0);
		if (v != SIGUSR2)
			fail("child: parent death signal %d, expected %d", v, SIGUSR2);
		exit(0);
	}
	if (prctl(PR_SET_NAME, MAIN_NAME, 0, 0, 0) || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) ||
	    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_TIMERSLACK, SLACK_MAIN, 0, 0, 0) || prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		fail("prctl setup");
	if (pthread_create(&th, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (!ready || !*child_ready)
		test_msleep(2);

	test_daemon();
	test_waitsig();

	prctl(PR_GET_NAME, name, 0, 0, 0);
	if (strcmp(name, MAIN_NAME))
		fail("name '%s', expected '%s'", name, MAIN_NAME);
	if ((v = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)) != 0)
		fail("dumpable %d, expected 0", v);
	v = 0;
	if (prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0) || v != 1)
		fail("child subreaper %d, expected 1", v);
	if ((v = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) != 1)
		fail("no_new_privs %d, expected 1", v);
	if ((v = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)) != SLACK_MAIN)
		fail("timer slack %d, expected %d", v, SLACK_MAIN);
	if ((v = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0)) != 1)
		fail("THP disable %d, expected 1", v);
	go = 1;
	pthread_join(th, NULL);
	if (thr_err[0])
		fail("thread: %s", thr_err);
	kill(child, SIGTERM);
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("child failed (status 0x%x)", st);
	pass();
}
