// SPDX-License-Identifier: LGPL-2.1-or-later
/* sigmask00: each thread's blocked signal mask (standard and real-time signals) is restored. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NT 3 /* main + 2 */

static sigset_t want[NT];
static pid_t tids[NT];
static volatile int ready[NT], release;
static char errs[NT][200];

static void make_mask(int idx, sigset_t *s)
{
	int sig;

	sigemptyset(s);
	for (sig = 1; sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sig == 32 || sig == 33)
			continue;
		if (idx == 0 && sig == SIGTERM)
			continue; /* the main thread takes SIGTERM */
		if ((sig * 7 + idx * 3) % (idx + 2) == 0)
			sigaddset(s, sig);
	}
}

static unsigned long long proc_sigblk(pid_t tid)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	if (test_read_file(path, buf, sizeof(buf)) <= 0 || !(p = strstr(buf, "SigBlk:")))
		return ~0ULL;
	return strtoull(p + 7, NULL, 16);
}

static unsigned long long to_bits(const sigset_t *s)
{
	unsigned long long v = 0;
	int sig;

	for (sig = 1; sig <= 64; sig++)
		if (sigismember(s, sig))
			v |= 1ULL << (sig - 1);
	return v;
}

static void check(int idx)
{
	sigset_t cur;
	int sig;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	for (sig = 1; sig <= 64; sig++)
		if (sigismember(&cur, sig) != sigismember(&want[idx], sig)) {
			snprintf(errs[idx], sizeof(errs[idx]), "signal %d is %sblocked", sig,
				 sigismember(&cur, sig) ? "" : "not ");
			return;
		}
}

static void *thread_fn(void *arg)
{
	int idx = (int)(long)arg;

	tids[idx] = gettid();
	pthread_sigmask(SIG_SETMASK, &want[idx], NULL);
	ready[idx] = 1;
	while (!test_sigterm_received())
		test_msleep(10);
	check(idx);
	ready[idx] = 2;
	while (!release)
		test_msleep(5);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NT];
	int i;

	test_init(argc, argv);
	for (i = 0; i < NT; i++)
		make_mask(i, &want[i]);
	tids[0] = gettid();
	for (i = 1; i < NT; i++)
		if (pthread_create(&th[i], NULL, thread_fn, (void *)(long)i))
			fail("pthread_create");
	pthread_sigmask(SIG_SETMASK, &want[0], NULL);
	for (i = 1; i < NT; i++)
		while (!ready[i])
			test_msleep(2);

	test_daemon();
	/* Not test_waitsig(): sigsuspend would swap the mask being tested. */
	while (!test_sigterm_received())
		test_msleep(10);

	check(0);
	for (i = 1; i < NT; i++)
		while (ready[i] != 2)
			test_msleep(2);
	for (i = 0; i < NT; i++) {
		if (errs[i][0])
			fail("thread %d: %s", i, errs[i]);
		if (proc_sigblk(tids[i]) != to_bits(&want[i]))
			fail("thread %d: SigBlk %llx, expected %llx", i, proc_sigblk(tids[i]),
			     to_bits(&want[i]));
	}
	release = 1;
	for (i = 1; i < NT; i++)
		pthread_join(th[i], NULL);
	pass();
}
