// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * threads02: 50 threads, each with its own TLS data, signal mask and
 * alternate signal stack (size, flags and contents), keep all of them; a
 * signal handled on the altstack after restore runs on that stack.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

#define NTHREADS 50

static __thread uint32_t tls_buf[256];
static __thread int tls_idx = -1;
static __thread volatile uintptr_t tls_handler_sp;

struct tinfo {
	int idx;
	pid_t tid;
	pthread_t self;
	sigset_t mask;
	stack_t ss;
	volatile int ready;
	char err[200];
};

static struct tinfo ti[NTHREADS];
static volatile int go;

static const int mask_sigs[] = { SIGUSR1, SIGUSR2, SIGHUP, SIGPIPE, SIGALRM, SIGWINCH };

static void prof_handler(int sig)
{
	int local;

	(void)sig;
	tls_handler_sp = (uintptr_t)&local;
}

static void build_mask(int idx, sigset_t *set)
{
	unsigned int j;

	sigemptyset(set);
	for (j = 0; j < sizeof(mask_sigs) / sizeof(mask_sigs[0]); j++)
		if (idx & (1 << j))
			sigaddset(set, mask_sigs[j]);
	sigaddset(set, SIGRTMIN + idx % 20);
}

static int mask_equal(const sigset_t *a, const sigset_t *b)
{
	int s;

	for (s = 1; s < 65; s++)
		if (sigismember(a, s) != sigismember(b, s))
			return 0;
	return 1;
}

#define ERR(...) (snprintf(t->err, sizeof(t->err), __VA_ARGS__), (void)0)

static void *thread_fn(void *arg)
{
	struct tinfo *t = arg;
	sigset_t cur;
	stack_t ss;
	long off;

	t->tid = gettid();
	t->self = pthread_self();
	tls_idx = t->idx;
	datagen(tls_buf, sizeof(tls_buf), 1000 + t->idx);

	build_mask(t->idx, &t->mask);
	if (pthread_sigmask(SIG_SETMASK, &t->mask, NULL))
		fail("pthread_sigmask");

	t->ss.ss_size = 16384 + t->idx * 4096;
	t->ss.ss_sp = malloc(t->ss.ss_size);
	if (!t->ss.ss_sp)
		fail("malloc");
	datagen(t->ss.ss_sp, t->ss.ss_size, 2000 + t->idx);
	t->ss.ss_flags = (t->idx & 1) ? SS_AUTODISARM : 0;
	if (sigaltstack(&t->ss, NULL))
		fail("sigaltstack");
	__sync_synchronize();
	t->ready = 1;

	while (!go)
		test_msleep(10);

	sigemptyset(&cur);
	if (gettid() != t->tid)
		ERR("tid %d, expected %d", gettid(), t->tid);
	else if (!pthread_equal(pthread_self(), t->self))
		ERR("pthread_self changed");
	else if (tls_idx != t->idx)
		ERR("TLS index %d", tls_idx);
	else if ((off = datadiff(tls_buf, sizeof(tls_buf), 1000 + t->idx)) >= 0)
		ERR("TLS data differs at %ld", off);
	else if (pthread_sigmask(SIG_BLOCK, NULL, &cur))
		ERR("pthread_sigmask(get)");
	else if (!mask_equal(&cur, &t->mask))
		ERR("signal mask differs");
	else if (sigaltstack(NULL, &ss))
		ERR("sigaltstack(get)");
	else if (ss.ss_sp != t->ss.ss_sp || ss.ss_size != t->ss.ss_size || ss.ss_flags != t->ss.ss_flags)
		ERR("altstack %p/%zu/%#x, expected %p/%zu/%#x", ss.ss_sp, ss.ss_size, ss.ss_flags,
		    t->ss.ss_sp, t->ss.ss_size, t->ss.ss_flags);
	else if ((off = datadiff(t->ss.ss_sp, t->ss.ss_size, 2000 + t->idx)) >= 0)
		ERR("altstack contents differ at %ld", off);
	else {
		/* The altstack is still in use for SA_ONSTACK handlers. */
		tls_handler_sp = 0;
		pthread_kill(pthread_self(), SIGPROF);
		if (tls_handler_sp < (uintptr_t)t->ss.ss_sp ||
		    tls_handler_sp >= (uintptr_t)t->ss.ss_sp + t->ss.ss_size)
			ERR("SIGPROF handler ran at %#lx, not on the altstack",
			    (unsigned long)tls_handler_sp);
		else if (sigaltstack(NULL, &ss) || ss.ss_flags != t->ss.ss_flags)
			ERR("altstack flags %#x after a handler", ss.ss_flags);
	}
	return t;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	struct sigaction sa;
	void *ret;
	int i;

	test_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = prof_handler;
	sa.sa_flags = SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPROF, &sa, NULL))
		fail("sigaction");
	for (i = 0; i < NTHREADS; i++) {
		ti[i].idx = i;
		if (pthread_create(&th[i], NULL, thread_fn, &ti[i]))
			fail("pthread_create %d", i);
	}
	for (i = 0; i < NTHREADS; i++)
		while (!ti[i].ready)
			test_msleep(2);

	test_daemon();
	test_waitsig();

	go = 1;
	for (i = 0; i < NTHREADS; i++) {
		if (pthread_join(th[i], &ret) || ret != &ti[i])
			fail("thread %d: join", i);
		if (ti[i].err[0])
			fail("thread %d: %s", i, ti[i].err);
	}
	pass();
}
