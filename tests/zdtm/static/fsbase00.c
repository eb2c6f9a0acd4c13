// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fsbase00: FS base (glibc TLS) and a custom GS base set with arch_prctl,
 * per thread, are restored; %gs-relative loads read the right block.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <asm/prctl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NT 3 /* main + 2 threads */

static __thread uint64_t tls_marker;
static uint64_t gs_block[NT][8] __attribute__((aligned(64)));

struct tstate {
	unsigned long fs, gs;
	volatile int ready;
	char err[200];
};
static struct tstate ts[NT];
static volatile int release;

static unsigned long get_base(int code)
{
	unsigned long v = 0;

	if (syscall(SYS_arch_prctl, code, &v))
		return ~0UL;
	return v;
}

static uint64_t gs_load(int i)
{
	uint64_t v;

	switch (i) {
	case 0: asm volatile("movq %%gs:0, %0" : "=r"(v)); break;
	case 1: asm volatile("movq %%gs:8, %0" : "=r"(v)); break;
	default: asm volatile("movq %%gs:56, %0" : "=r"(v)); break;
	}
	return v;
}

static int check(int idx, char *err, size_t len)
{
	struct tstate *s = &ts[idx];
	unsigned long fs = get_base(ARCH_GET_FS), gs = get_base(ARCH_GET_GS);

	if (fs != s->fs)
		return snprintf(err, len, "FS base 0x%lx, expected 0x%lx", fs, s->fs);
	if (fs != (unsigned long)pthread_self())
		return snprintf(err, len, "FS base 0x%lx is not pthread_self()", fs);
	if (tls_marker != 0xf5000000u + (unsigned)idx)
		return snprintf(err, len, "TLS marker 0x%llx", (unsigned long long)tls_marker);
	if (gs != s->gs)
		return snprintf(err, len, "GS base 0x%lx, expected 0x%lx", gs, s->gs);
	if (gs_load(0) != gs_block[idx][0] || gs_load(1) != gs_block[idx][1] ||
	    gs_load(7) != gs_block[idx][7])
		return snprintf(err, len, "%%gs-relative loads read the wrong block");
	if (getauxval(AT_HWCAP2) & 2) { /* HWCAP2_FSGSBASE: check the instructions agree */
		unsigned long rfs, rgs;

		asm volatile("rdfsbase %0" : "=r"(rfs));
		asm volatile("rdgsbase %0" : "=r"(rgs));
		if (rfs != fs || rgs != gs)
			return snprintf(err, len, "rdfsbase/rdgsbase 0x%lx/0x%lx differ", rfs, rgs);
	}
	return 0;
}

static void setup(int idx)
{
	tls_marker = 0xf5000000u + (unsigned)idx;
	datagen(gs_block[idx], sizeof(gs_block[idx]), 800 + idx);
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)gs_block[idx]))
		fail("ARCH_SET_GS");
	ts[idx].fs = get_base(ARCH_GET_FS);
	ts[idx].gs = get_base(ARCH_GET_GS);
	if (ts[idx].gs != (unsigned long)gs_block[idx])
		fail("GS base not set");
	if (check(idx, ts[idx].err, sizeof(ts[idx].err)))
		fail("thread %d before C/R: %s", idx, ts[idx].err);
}

static void *thread_fn(void *arg)
{
	int idx = (int)(long)arg;

	setup(idx);
	ts[idx].ready = 1;
	while (!test_sigterm_received())
		test_msleep(10);
	check(idx, ts[idx].err, sizeof(ts[idx].err));
	ts[idx].ready = 2;
	while (!release)
		test_msleep(5);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NT];
	int i;

	test_init(argc, argv);
	setup(0);
	for (i = 1; i < NT; i++)
		if (pthread_create(&th[i], NULL, thread_fn, (void *)(long)i))
			fail("pthread_create");
	for (i = 1; i < NT; i++)
		while (!ts[i].ready)
			test_msleep(2);

	test_daemon();
	test_waitsig();

	if (check(0, ts[0].err, sizeof(ts[0].err)))
		fail("main thread: %s", ts[0].err);
	for (i = 1; i < NT; i++) {
		while (ts[i].ready != 2)
			test_msleep(2);
		if (ts[i].err[0])
			fail("thread %d: %s", i, ts[i].err);
	}
	release = 1;
	for (i = 1; i < NT; i++)
		pthread_join(th[i], NULL);
	pass();
}
