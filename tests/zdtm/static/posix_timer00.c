// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * posix_timer00: POSIX timers (several clocks, SIGEV_SIGNAL with values,
 * SIGEV_THREAD_ID, SIGEV_NONE, a disarmed one, a gap in the ids) keep their
 * ids, settings and values, and deliver the right siginfo.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

enum { T_MONO, T_REAL_LONG, T_NONE, T_TID, T_OFF, NT };

static timer_t ids[NT];
static struct itimerspec specs[NT];

static long ms(long v)
{
	return v * 1000000L;
}

static void mk(int k, clockid_t clk, int notify, int sig, int val, long value_ns, long interval_ns)
{
	struct sigevent ev;

	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = notify;
	ev.sigev_signo = sig;
	ev.sigev_value.sival_int = val;
	if (notify == SIGEV_THREAD_ID)
		ev.sigev_notify_thread_id = gettid();
	if (timer_create(clk, &ev, &ids[k]))
		fail("timer_create %d: %s", k, strerror(errno));
	specs[k].it_value.tv_sec = value_ns / 1000000000L;
	specs[k].it_value.tv_nsec = value_ns % 1000000000L;
	specs[k].it_interval.tv_sec = interval_ns / 1000000000L;
	specs[k].it_interval.tv_nsec = interval_ns % 1000000000L;
	if (timer_settime(ids[k], 0, &specs[k], NULL))
		fail("timer_settime %d", k);
}

static double d(const struct timespec *t)
{
	return t->tv_sec + t->tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct itimerspec cur;
	struct timespec to = { 1, 0 };
	timer_t gap;
	sigset_t set;
	siginfo_t si;
	int k, got_mono = 0, got_tid = 0, sig, n;

	test_init(argc, argv);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigaddset(&set, SIGRTMIN + 2);
	sigaddset(&set, SIGRTMIN + 3);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (timer_create(CLOCK_MONOTONIC, NULL, &gap))
		fail("timer_create");
	mk(T_MONO, CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 1, 0x1111, ms(100), ms(100));
	mk(T_REAL_LONG, CLOCK_REALTIME, SIGEV_SIGNAL, SIGRTMIN + 2, 0x2222, 3600L * 1000000000L, 0);
	mk(T_NONE, CLOCK_BOOTTIME, SIGEV_NONE, 0, 0, ms(50), ms(50));
	mk(T_TID, CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGRTMIN + 3, 0x4444, ms(150), ms(150));
	mk(T_OFF, CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 2, 0x5555, 0, 0);
	timer_delete(gap);

	test_daemon();
	test_waitsig();

	for (k = 0; k < NT; k++) {
		if (timer_gettime(ids[k], &cur))
			fail("timer %d (id %ld) is gone: %s", k, (long)ids[k], strerror(errno));
		if (cur.it_interval.tv_sec != specs[k].it_interval.tv_sec ||
		    cur.it_interval.tv_nsec != specs[k].it_interval.tv_nsec)
			fail("timer %d: interval %.9f, expected %.9f", k, d(&cur.it_interval),
			     d(&specs[k].it_interval));
		if (k == T_OFF && (cur.it_value.tv_sec || cur.it_value.tv_nsec))
			fail("disarmed timer is armed (%.9f)", d(&cur.it_value));
		if (k == T_REAL_LONG && (d(&cur.it_value) < 3000 || d(&cur.it_value) > 3600))
			fail("one-shot timer value %.3f, expected just under 3600", d(&cur.it_value));
		if ((k == T_MONO || k == T_NONE || k == T_TID) &&
		    (d(&cur.it_value) <= 0 || d(&cur.it_value) > d(&specs[k].it_interval)))
			fail("timer %d: value %.9f out of range", k, d(&cur.it_value));
	}
	/* Drain what was queued while frozen, then expect fresh expirations. */
	for (n = 0; n < 20 && (!got_mono || !got_tid); n++) {
		sig = sigtimedwait(&set, &si, &to);
		if (sig < 0)
			break;
		if (si.si_code != SI_TIMER)
			fail("signal %d: si_code %d, expected SI_TIMER", sig, si.si_code);
		if (sig == SIGRTMIN + 1) {
			if (si.si_value.sival_int != 0x1111 || si.si_timerid != (int)(long)ids[T_MONO])
				fail("monotonic timer: value %#x timerid %d, expected %#x/%ld",
				     si.si_value.sival_int, si.si_timerid, 0x1111, (long)ids[T_MONO]);
			got_mono++;
		} else if (sig == SIGRTMIN + 3) {
			if (si.si_value.sival_int != 0x4444 || si.si_timerid != (int)(long)ids[T_TID])
				fail("thread-id timer: value %#x timerid %d", si.si_value.sival_int,
				     si.si_timerid);
			got_tid++;
		} else {
			fail("unexpected signal %d (timer value %#x)", sig, si.si_value.sival_int);
		}
	}
	if (!got_mono || !got_tid)
		fail("timers did not fire after restore (mono %d, thread-id %d)", got_mono, got_tid);
	pass();
}
