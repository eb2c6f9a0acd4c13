// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sched00: per-thread nice values (setpriority on the TID) and per-thread
 * CPU affinity masks are restored.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NTHREADS 4

static const int nices[NTHREADS + 1] = { 3, -4, 7, 12, 19 }; /* [NTHREADS] is main */

struct tinfo {
	int idx;
	pid_t tid;
	cpu_set_t mask;
	volatile int ready;
	char err[200];
};

static struct tinfo ti[NTHREADS + 1];
static cpu_set_t avail;
static int ncpu, cpus[CPU_SETSIZE];
static volatile int go;

static void setup(struct tinfo *t)
{
	int i, k;

	t->tid = gettid();
	if (setpriority(PRIO_PROCESS, t->tid, nices[t->idx]))
		fail("setpriority(%d, %d)", t->tid, nices[t->idx]);
	/* A different non-empty subset of the allowed CPUs per task where possible. */
	CPU_ZERO(&t->mask);
	k = t->idx % (ncpu > 1 ? ncpu + 1 : 1);
	if (k == ncpu || ncpu == 1) {
		for (i = 0; i < ncpu; i++)
			CPU_SET(cpus[i], &t->mask);
	} else {
		CPU_SET(cpus[k], &t->mask);
	}
	if (sched_setaffinity(0, sizeof(t->mask), &t->mask))
		fail("sched_setaffinity");
}

static void check(struct tinfo *t)
{
	cpu_set_t m;
	int n;

	errno = 0;
	n = getpriority(PRIO_PROCESS, 0);
	if (errno)
		snprintf(t->err, sizeof(t->err), "getpriority: %s", strerror(errno));
	else if (n != nices[t->idx])
		snprintf(t->err, sizeof(t->err), "nice %d, expected %d", n, nices[t->idx]);
	else if (sched_getaffinity(0, sizeof(m), &m))
		snprintf(t->err, sizeof(t->err), "sched_getaffinity: %s", strerror(errno));
	else if (!CPU_EQUAL(&m, &t->mask))
		snprintf(t->err, sizeof(t->err), "affinity: %d CPUs (first %d), expected %d CPUs",
			 CPU_COUNT(&m), CPU_ISSET(0, &m) ? 0 : 1, CPU_COUNT(&t->mask));
}

static void *thread_fn(void *arg)
{
	struct tinfo *t = arg;

	setup(t);
	t->ready = 1;
	while (!go)
		test_msleep(5);
	check(t);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	int i, n;

	test_init(argc, argv);
	if (sched_getaffinity(0, sizeof(avail), &avail))
		fail("sched_getaffinity");
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &avail))
			cpus[ncpu++] = i;
	for (i = 0; i <= NTHREADS; i++)
		ti[i].idx = i;
	for (i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, thread_fn, &ti[i]))
			fail("pthread_create");
	setup(&ti[NTHREADS]);
	for (i = 0; i < NTHREADS; i++)
		while (!ti[i].ready)
			test_msleep(2);

	test_daemon();
	test_waitsig();

	check(&ti[NTHREADS]);
	if (ti[NTHREADS].err[0])
		fail("main thread: %s", ti[NTHREADS].err);
	/* Also as seen from the main thread, by TID. */
	for (i = 0; i < NTHREADS; i++) {
		errno = 0;
		n = getpriority(PRIO_PROCESS, ti[i].tid);
		if (errno || n != nices[i])
			fail("thread %d: getpriority(tid) %d, expected %d", i, n, nices[i]);
	}
	go = 1;
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		if (ti[i].err[0])
			fail("thread %d: %s", i, ti[i].err);
	}
	pass();
}
