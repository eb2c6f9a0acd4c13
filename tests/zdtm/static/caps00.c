// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * caps00: reduced effective/permitted/inheritable capability sets, a reduced
 * bounding set, raised ambient capabilities and securebits are restored; a
 * second thread with a different effective set keeps its own.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define BIT(c) (1ULL << (c))

struct capsets {
	uint64_t eff, prm, inh;
};

static int last_cap;

static int get_caps(pid_t tid, struct capsets *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, tid };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d))
		return -1;
	c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	c->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	c->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int set_caps(const struct capsets *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	d[0].effective = (uint32_t)c->eff;
	d[1].effective = c->eff >> 32;
	d[0].permitted = (uint32_t)c->prm;
	d[1].permitted = c->prm >> 32;
	d[0].inheritable = (uint32_t)c->inh;
	d[1].inheritable = c->inh >> 32;
	return syscall(SYS_capset, &h, d);
}

static uint64_t get_bset(void)
{
	uint64_t b = 0;
	int c;

	for (c = 0; c <= last_cap; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			b |= BIT(c);
	return b;
}

static uint64_t get_ambient(void)
{
	uint64_t a = 0;
	int c;

	for (c = 0; c <= last_cap; c++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
			a |= BIT(c);
	return a;
}

/* The thread's state, as (sets, bounding, ambient, securebits). */
struct state {
	struct capsets c;
	uint64_t bset, amb;
	int secbits;
};

static void snap(struct state *s)
{
	if (get_caps(0, &s->c))
		fail("capget");
	s->bset = get_bset();
	s->amb = get_ambient();
	s->secbits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
}

static int state_diff(const struct state *a, const struct state *b, char *err, size_t len)
{
	if (a->c.eff != b->c.eff)
		snprintf(err, len, "effective %#llx, expected %#llx", (unsigned long long)a->c.eff,
			 (unsigned long long)b->c.eff);
	else if (a->c.prm != b->c.prm)
		snprintf(err, len, "permitted %#llx, expected %#llx", (unsigned long long)a->c.prm,
			 (unsigned long long)b->c.prm);
	else if (a->c.inh != b->c.inh)
		snprintf(err, len, "inheritable %#llx, expected %#llx", (unsigned long long)a->c.inh,
			 (unsigned long long)b->c.inh);
	else if (a->bset != b->bset)
		snprintf(err, len, "bounding %#llx, expected %#llx", (unsigned long long)a->bset,
			 (unsigned long long)b->bset);
	else if (a->amb != b->amb)
		snprintf(err, len, "ambient %#llx, expected %#llx", (unsigned long long)a->amb,
			 (unsigned long long)b->amb);
	else if (a->secbits != b->secbits)
		snprintf(err, len, "securebits %#x, expected %#x", a->secbits, b->secbits);
	else
		return 0;
	return 1;
}

static struct state main_want, thr_want;
static volatile int thr_ready, thr_go;
static char thr_err[256];
static pid_t thr_tid;

static void *thread_fn(void *arg)
{
	struct state now;
	struct capsets c;

	(void)arg;
	/* Per-thread: drop two more capabilities from the effective set only. */
	if (get_caps(0, &c))
		fail("thread: capget");
	c.eff &= ~(BIT(CAP_SYS_ADMIN) | BIT(CAP_FOWNER));
	if (set_caps(&c))
		fail("thread: capset");
	snap(&thr_want);
	thr_tid = gettid();
	thr_ready = 1;
	while (!thr_go)
		test_msleep(5);
	snap(&now);
	if (state_diff(&now, &thr_want, thr_err, sizeof(thr_err)))
		return NULL;
	return NULL;
}

int main(int argc, char **argv)
{
	struct state now;
	struct capsets c, tc;
	char buf[32], err[256];
	pthread_t th;
	uint64_t all, need, bset0;

	test_init(argc, argv);
	if (test_read_file("/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) <= 0)
		fail("cap_last_cap");
	last_cap = atoi(buf);
	if (last_cap < CAP_AUDIT_READ || last_cap > 63)
		fail("cap_last_cap %d", last_cap);
	/* Work from what we were given (containers may lack a few capabilities). */
	if (get_caps(0, &c))
		fail("capget");
	all = c.prm;
	need = BIT(CAP_SETPCAP) | BIT(CAP_SYS_BOOT) | BIT(CAP_MKNOD) | BIT(CAP_AUDIT_WRITE) |
	       BIT(CAP_SYS_RAWIO) | BIT(CAP_NET_RAW) | BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) |
	       BIT(CAP_KILL) | BIT(CAP_SYS_TIME) | BIT(CAP_WAKE_ALARM) | BIT(CAP_NET_ADMIN) |
	       BIT(CAP_SYS_NICE) | BIT(CAP_LEASE) | BIT(CAP_SYS_ADMIN) | BIT(CAP_FOWNER);
	if (c.eff != c.prm || (c.prm & need) != need || (get_bset() & need) != need)
		skip("needs capabilities %#llx effective, permitted and bounding",
		     (unsigned long long)need);
	bset0 = get_bset();

	/* Bounding set drops (needs CAP_SETPCAP, still effective here). */
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT, 0, 0, 0) || prctl(PR_CAPBSET_DROP, CAP_MKNOD, 0, 0, 0) ||
	    prctl(PR_CAPBSET_DROP, CAP_AUDIT_WRITE, 0, 0, 0) || prctl(PR_CAPBSET_DROP, CAP_SYS_RAWIO, 0, 0, 0))
		fail("PR_CAPBSET_DROP");
	/* Inheritable (within the bounding set), then ambient from permitted & inheritable. */
	c.inh = BIT(CAP_NET_RAW) | BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_KILL) | BIT(CAP_SETPCAP);
	if (set_caps(&c))
		fail("capset inheritable");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0))
		fail("PR_CAP_AMBIENT_RAISE");
	if (prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_NO_SETUID_FIXUP | SECBIT_NOROOT, 0, 0, 0))
		fail("PR_SET_SECUREBITS");
	/* Permitted loses some capabilities, effective some more. */
	c.prm = all & ~(BIT(CAP_SYS_BOOT) | BIT(CAP_MKNOD) | BIT(CAP_SYS_TIME) | BIT(CAP_WAKE_ALARM) |
			BIT(CAP_DAC_OVERRIDE));
	c.eff = c.prm & ~(BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_NICE) | BIT(CAP_LEASE));
	if (set_caps(&c))
		fail("capset");
	snap(&main_want);
	/* Check the setup itself. */
	if (main_want.amb != (BIT(CAP_NET_RAW) | BIT(CAP_CHOWN)))
		fail("ambient setup %#llx", (unsigned long long)main_want.amb);
	if (main_want.bset != (bset0 & ~(BIT(CAP_SYS_BOOT) | BIT(CAP_MKNOD) | BIT(CAP_AUDIT_WRITE) |
					 BIT(CAP_SYS_RAWIO))))
		fail("bounding setup %#llx", (unsigned long long)main_want.bset);

	if (pthread_create(&th, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (!thr_ready)
		test_msleep(2);
	if (thr_want.c.eff != (main_want.c.eff & ~(BIT(CAP_SYS_ADMIN) | BIT(CAP_FOWNER))))
		fail("thread setup: effective %#llx", (unsigned long long)thr_want.c.eff);

	test_daemon();
	test_waitsig();

	snap(&now);
	if (state_diff(&now, &main_want, err, sizeof(err)))
		fail("main thread: %s", err);
	/* The thread's sets as seen from outside, too. */
	if (get_caps(thr_tid, &tc))
		fail("capget(thread)");
	if (tc.eff != thr_want.c.eff || tc.prm != thr_want.c.prm || tc.inh != thr_want.c.inh)
		fail("thread (capget from main): eff %#llx prm %#llx inh %#llx, expected %#llx %#llx %#llx",
		     (unsigned long long)tc.eff, (unsigned long long)tc.prm, (unsigned long long)tc.inh,
		     (unsigned long long)thr_want.c.eff, (unsigned long long)thr_want.c.prm,
		     (unsigned long long)thr_want.c.inh);
	thr_go = 1;
	pthread_join(th, NULL);
	if (thr_err[0])
		fail("thread: %s", thr_err);
	pass();
}
