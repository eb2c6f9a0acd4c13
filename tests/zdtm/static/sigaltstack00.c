// SPDX-License-Identifier: LGPL-2.1-or-later
/* sigaltstack00: per-thread alternate signal stacks (one with SS_AUTODISARM) are restored and used. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

#define STK 65536
static char stacks[2][STK] __attribute__((aligned(64)));
static stack_t want[2];
static volatile int on_alt[2], ready, go, done;
static char thr_err[200];
static __thread int my_idx;

static void handler(int sig)
{
	char here;
	char *lo = stacks[my_idx];

	on_alt[my_idx] = (&here >= lo && &here < lo + STK) ? 1 : -1;
}

static int check(int idx, char *err, size_t len)
{
	stack_t cur;

	if (sigaltstack(NULL, &cur))
		return snprintf(err, len, "sigaltstack(NULL)");
	if (cur.ss_sp != want[idx].ss_sp || cur.ss_size != want[idx].ss_size ||
	    cur.ss_flags != want[idx].ss_flags)
		return snprintf(err, len, "altstack %p/%zu/%#x, expected %p/%zu/%#x", cur.ss_sp,
				cur.ss_size, cur.ss_flags, want[idx].ss_sp, want[idx].ss_size,
				want[idx].ss_flags);
	on_alt[idx] = 0;
	pthread_kill(pthread_self(), SIGUSR1);
	if (on_alt[idx] != 1)
		return snprintf(err, len, "SA_ONSTACK handler did not run on the alternate stack");
	return 0;
}

static void set_stack(int idx, int flags)
{
	stack_t ss = { .ss_sp = stacks[idx], .ss_size = STK, .ss_flags = flags };

	my_idx = idx;
	if (sigaltstack(&ss, NULL))
		fail("sigaltstack");
	sigaltstack(NULL, &want[idx]);
}

static void *thread_fn(void *arg)
{
	set_stack(1, 0);
	ready = 1;
	while (!go)
		test_msleep(5);
	check(1, thr_err, sizeof(thr_err));
	done = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	pthread_t th;
	char err[200];

	test_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	set_stack(0, SS_AUTODISARM);
	if (pthread_create(&th, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (!ready)
		test_msleep(2);

	test_daemon();
	test_waitsig();

	if (check(0, err, sizeof(err)))
		fail("main thread: %s", err);
	go = 1;
	pthread_join(th, NULL);
	if (thr_err[0])
		fail("thread: %s", thr_err);
	pass();
}
