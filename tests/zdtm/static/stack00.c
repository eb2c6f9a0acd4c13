// SPDX-License-Identifier: LGPL-2.1-or-later
/* stack00: deep recursion in the main thread and a thread; every frame's data survives. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>

#include "zdtmtst.h"

#define MAIN_DEPTH 2000
#define THREAD_DEPTH 300
#define FRAME 512

static volatile int thread_ready, release;
static char thread_err[200];

typedef void (*bottom_fn)(void);

static int __attribute__((noinline)) recurse(int depth, uint32_t base, bottom_fn bottom)
{
	volatile unsigned char frame[FRAME];
	long off;
	int r = 0;

	datagen((void *)frame, FRAME, base + depth);
	if (depth > 0)
		r = recurse(depth - 1, base, bottom);
	else
		bottom();
	off = datadiff((const void *)frame, FRAME, base + depth);
	if (off >= 0 && !r) {
		test_msg("frame at depth %d (%p): byte %ld differs", depth, (void *)frame, off);
		r = depth + 1;
	}
	return r;
}

static void main_bottom(void)
{
	while (!thread_ready)
		test_msleep(2);
	test_daemon();
	test_waitsig();
}

static void thread_bottom(void)
{
	thread_ready = 1;
	while (!test_sigterm_received())
		test_msleep(10);
}

static void *thread_fn(void *arg)
{
	int r = recurse(THREAD_DEPTH, 77000, thread_bottom);

	if (r)
		snprintf(thread_err, sizeof(thread_err), "frame at depth %d differs", r - 1);
	release = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	int r;

	test_init(argc, argv);
	if (pthread_create(&th, NULL, thread_fn, NULL))
		fail("pthread_create");
	r = recurse(MAIN_DEPTH, 11000, main_bottom);
	pthread_join(th, NULL);
	if (r)
		fail("main thread: frame at depth %d differs", r - 1);
	if (thread_err[0])
		fail("thread: %s", thread_err);
	pass();
}
