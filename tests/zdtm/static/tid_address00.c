// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tid_address00: the clear_child_tid address is restored. A pthread created
 * with CLONE_CHILD_CLEARTID can be joined after restore (the kernel clears
 * and wakes its TID word on exit), and set_tid_address values (glibc's and
 * one set by hand) read back through PR_GET_TID_ADDRESS.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef PR_GET_TID_ADDRESS
#define PR_GET_TID_ADDRESS 40
#endif

static int get_tid_address(int **addr)
{
	return prctl(PR_GET_TID_ADDRESS, (unsigned long)addr, 0, 0, 0);
}

struct tinfo {
	int *orig; /* glibc's address (the pthread's TID word) */
	int *want;
	volatile int ready;
	int custom; /* this thread's hand-set clear_child_tid target */
	char err[200];
};

static struct tinfo ti[2]; /* 0: glibc's address, 1: hand-set address */
static volatile int go;

static void *thread_fn(void *arg)
{
	struct tinfo *t = arg;
	int *now = NULL;

	if (get_tid_address(&t->orig))
		fail("PR_GET_TID_ADDRESS");
	t->want = t->orig;
	if (t == &ti[1]) {
		t->custom = gettid();
		syscall(SYS_set_tid_address, &t->custom);
		t->want = &t->custom;
	}
	t->ready = 1;
	while (!go)
		test_msleep(5);
	if (get_tid_address(&now))
		snprintf(t->err, sizeof(t->err), "PR_GET_TID_ADDRESS failed");
	else if (now != t->want)
		snprintf(t->err, sizeof(t->err), "clear_child_tid %p, expected %p", (void *)now, (void *)t->want);
	/* Back to glibc's word, so that pthread_join sees the exit. */
	if (t == &ti[1])
		syscall(SYS_set_tid_address, t->orig);
	return t;
}

int main(int argc, char **argv)
{
	int *main_addr = NULL, *now = NULL;
	struct timespec ts;
	pthread_t th[2];
	void *ret;
	int i, r;

	test_init(argc, argv);
	if (get_tid_address(&main_addr)) {
		if (errno == EINVAL)
			skip("PR_GET_TID_ADDRESS not supported (CONFIG_CHECKPOINT_RESTORE)");
		fail("PR_GET_TID_ADDRESS");
	}
	if (!main_addr)
		fail("main thread has no clear_child_tid address");
	for (i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, thread_fn, &ti[i]))
			fail("pthread_create");
	while (!ti[0].ready || !ti[1].ready)
		test_msleep(2);
	if (!ti[0].orig || !ti[1].orig || ti[0].orig == ti[1].orig)
		fail("setup: thread addresses %p %p", (void *)ti[0].orig, (void *)ti[1].orig);

	test_daemon();
	test_waitsig();

	if (get_tid_address(&now))
		fail("PR_GET_TID_ADDRESS after restore");
	if (now != main_addr)
		fail("main clear_child_tid %p, expected %p", (void *)now, (void *)main_addr);
	go = 1;
	for (i = 0; i < 2; i++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		r = pthread_timedjoin_np(th[i], &ret, &ts);
		if (r == ETIMEDOUT)
			fail("thread %d: pthread_join hangs: its TID word was not cleared on exit", i);
		if (r || ret != &ti[i])
			fail("thread %d: pthread_join: %s", i, strerror(r));
		if (ti[i].err[0])
			fail("thread %d: %s", i, ti[i].err);
	}
	pass();
}
