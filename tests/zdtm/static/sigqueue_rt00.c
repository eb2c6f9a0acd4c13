// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sigqueue_rt00: many blocked real-time signals, queued process-wide
 * (sigqueue) and to the main thread only (rt_tgsigqueueinfo), each with its
 * own si_value, interleaved across signal numbers. After C/R every one is
 * still queued: same count, same sender fields and, per signal number, the
 * same order.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NSHARED 6  /* SIGRTMIN+0..5: process-wide queue */
#define NPRIV 3    /* SIGRTMIN+6..8: the main thread's own queue */
#define PER_SIG 25

static int value_of(int s, int k)
{
	return 0x5a000000 | s << 16 | k * 7919;
}

int main(int argc, char **argv)
{
	sigset_t set, pend;
	siginfo_t si;
	struct timespec zero = { 0, 0 };
	union sigval v;
	int s, k, sig, r;

	test_init(argc, argv);
	sigemptyset(&set);
	for (s = 0; s < NSHARED + NPRIV; s++)
		sigaddset(&set, SIGRTMIN + s);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		fail("sigprocmask");

	/* Interleave: round k queues value k of every signal. */
	for (k = 0; k < PER_SIG; k++) {
		for (s = NSHARED + NPRIV - 1; s >= 0; s--) {
			sig = SIGRTMIN + s;
			if (s < NSHARED) {
				v.sival_int = value_of(s, k);
				if (sigqueue(getpid(), sig, v))
					fail("sigqueue(%d) #%d", sig, k);
			} else {
				memset(&si, 0, sizeof(si));
				si.si_signo = sig;
				si.si_code = SI_QUEUE;
				si.si_pid = getpid();
				si.si_uid = getuid();
				si.si_value.sival_int = value_of(s, k);
				if (syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), sig, &si))
					fail("rt_tgsigqueueinfo(%d) #%d", sig, k);
			}
		}
	}

	test_daemon();
	test_waitsig();

	if (sigpending(&pend))
		fail("sigpending");
	for (s = 0; s < NSHARED + NPRIV; s++)
		if (!sigismember(&pend, SIGRTMIN + s))
			fail("signal %d is no longer pending", SIGRTMIN + s);
	for (s = 0; s < NSHARED + NPRIV; s++) {
		sigset_t one;

		sig = SIGRTMIN + s;
		sigemptyset(&one);
		sigaddset(&one, sig);
		for (k = 0; k < PER_SIG; k++) {
			memset(&si, 0, sizeof(si));
			r = sigtimedwait(&one, &si, &zero);
			if (r != sig)
				fail("signal %d: only %d of %d instances queued", sig, k, PER_SIG);
			if (si.si_code != SI_QUEUE)
				fail("signal %d #%d: si_code %d, expected SI_QUEUE", sig, k, si.si_code);
			if (si.si_pid != getpid() || si.si_uid != getuid())
				fail("signal %d #%d: sender pid %d uid %d", sig, k, si.si_pid, si.si_uid);
			if (si.si_value.sival_int != value_of(s, k))
				fail("signal %d #%d: si_value %#x, expected %#x (order or value lost)", sig, k,
				     si.si_value.sival_int, value_of(s, k));
		}
		if (sigtimedwait(&one, &si, &zero) == sig)
			fail("signal %d: more than %d instances queued", sig, PER_SIG);
	}
	if (sigpending(&pend))
		fail("sigpending");
	for (s = 1; s < 65; s++)
		if (s != SIGTERM && sigismember(&pend, s) == 1)
			fail("signal %d pending after draining", s);
	pass();
}
