// SPDX-License-Identifier: LGPL-2.1-or-later
/* threads00: threads keep their TIDs, TLS variables and stacks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NTHREADS 8

static __thread uint64_t tls_buf[64];
static __thread int tls_index = -1;

struct tinfo {
	pthread_t self;
	pid_t tid;
	int idx;
	volatile int ready;
	char err[200];
};

static struct tinfo ti[NTHREADS + 1];
static volatile int release;

static void fill_check(struct tinfo *t)
{
	unsigned char stackbuf[8192];
	long off;

	tls_index = t->idx;
	datagen(tls_buf, sizeof(tls_buf), 100 + t->idx);
	datagen(stackbuf, sizeof(stackbuf), 200 + t->idx);
	t->tid = gettid();
	t->self = pthread_self();
	__sync_synchronize();
	t->ready = 1;

	while (!test_sigterm_received())
		test_msleep(10);

	if (gettid() != t->tid)
		snprintf(t->err, sizeof(t->err), "gettid() %d, expected %d", gettid(), t->tid);
	else if (!pthread_equal(pthread_self(), t->self))
		snprintf(t->err, sizeof(t->err), "pthread_self() changed");
	else if (tls_index != t->idx)
		snprintf(t->err, sizeof(t->err), "TLS index %d, expected %d", tls_index, t->idx);
	else if ((off = datadiff(tls_buf, sizeof(tls_buf), 100 + t->idx)) >= 0)
		snprintf(t->err, sizeof(t->err), "TLS buffer differs at %ld", off);
	else if ((off = datadiff(stackbuf, sizeof(stackbuf), 200 + t->idx)) >= 0)
		snprintf(t->err, sizeof(t->err), "stack buffer differs at %ld", off);
}

static void *thread_fn(void *arg)
{
	fill_check(arg);
	/* Stay alive until main has looked at /proc/self/task. */
	while (!release)
		test_msleep(5);
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	struct dirent *de;
	int i, n, found;
	void *ret;
	DIR *d;

	test_init(argc, argv);

	for (i = 0; i < NTHREADS; i++) {
		ti[i].idx = i;
		if (pthread_create(&th[i], NULL, thread_fn, &ti[i]))
			fail("pthread_create");
	}
	for (i = 0; i < NTHREADS; i++)
		while (!ti[i].ready)
			test_msleep(2);

	test_daemon();
	/* The main thread takes part too; fill_check returns after SIGTERM. */
	ti[NTHREADS].idx = NTHREADS;
	fill_check(&ti[NTHREADS]);

	d = opendir("/proc/self/task");
	if (!d)
		fail("opendir");
	n = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		found = 0;
		for (i = 0; i <= NTHREADS; i++)
			if (atoi(de->d_name) == ti[i].tid)
				found = 1;
		if (!found)
			fail("unknown task %s", de->d_name);
	}
	closedir(d);
	if (n != NTHREADS + 1)
		fail("%d tasks, expected %d", n, NTHREADS + 1);
	release = 1;

	for (i = 0; i < NTHREADS; i++) {
		if (pthread_join(th[i], &ret) || ret != &ti[i])
			fail("thread %d: join failed", i);
		if (ti[i].err[0])
			fail("thread %d: %s", i, ti[i].err);
	}
	if (ti[NTHREADS].err[0])
		fail("main thread: %s", ti[NTHREADS].err);
	pass();
}
