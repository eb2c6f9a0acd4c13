// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * timerfds: an armed CLOCK_MONOTONIC interval timer (100 ms), a disarmed
 * non-blocking one, a one-shot that expired before C/R with its tick unread,
 * a CLOCK_BOOTTIME 1 h interval timer and an absolute CLOCK_REALTIME timer a
 * day ahead. After C/R clocks, intervals, TFD_TIMER_ABSTIME, the pending tick
 * and plausible remaining times are kept, and the armed timer keeps firing.
 */
#include <sys/timerfd.h>
#include <time.h>
#include "fdutil.h"

#define NSEC 1000000000LL

static long long ts_ns(const struct timespec *t)
{
	return t->tv_sec * NSEC + t->tv_nsec;
}

static long long now_ns(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return ts_ns(&t);
}

static struct itimerspec get(int fd)
{
	struct itimerspec its;

	if (timerfd_gettime(fd, &its))
		fail("timerfd_gettime(%d)", fd);
	return its;
}

static void set(int fd, int flags, long long value, long long interval)
{
	struct itimerspec its = {
		.it_value = { value / NSEC, value % NSEC },
		.it_interval = { interval / NSEC, interval % NSEC },
	};

	if (timerfd_settime(fd, flags, &its, NULL))
		fail("timerfd_settime(%d)", fd);
}

static void check_fdinfo(int fd, const char *key, const char *want)
{
	char v[64];

	if (fdinfo_get(fd, key, v, sizeof(v)))
		fail("fd %d: no '%s' in fdinfo", fd, key);
	if (strcmp(v, want))
		fail("fd %d: fdinfo %s '%s', want '%s'", fd, key, v, want);
}

int main(int argc, char **argv)
{
	int tick, off, done, boot, rt;
	long long t0, t_boot, rt_target;
	struct fd_snap s_off;
	uint64_t n;
	char clk[16];

	test_init(argc, argv);
	tick = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	off = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	done = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	boot = timerfd_create(CLOCK_BOOTTIME, 0);
	rt = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
	if (tick < 0 || off < 0 || done < 0 || boot < 0 || rt < 0)
		fail("timerfd_create");
	t0 = now_ns(CLOCK_MONOTONIC);
	set(tick, 0, 2 * NSEC, NSEC / 10);
	set(done, 0, NSEC / 1000, 0);
	set(boot, 0, 3600 * NSEC, 3600 * NSEC);
	t_boot = now_ns(CLOCK_MONOTONIC);
	rt_target = (now_ns(CLOCK_REALTIME) / NSEC + 86400) * NSEC;
	set(rt, TFD_TIMER_ABSTIME, rt_target, 0);
	usleep(20000);	/* "done" expires, nobody reads it */
	fd_snap(off, &s_off, "disarmed");

	test_daemon();
	test_waitsig();

	fd_snap_check(off, &s_off, false, "disarmed");
	snprintf(clk, sizeof(clk), "%d", CLOCK_MONOTONIC);
	check_fdinfo(tick, "clockid", clk);
	check_fdinfo(off, "clockid", clk);
	snprintf(clk, sizeof(clk), "%d", CLOCK_BOOTTIME);
	check_fdinfo(boot, "clockid", clk);
	snprintf(clk, sizeof(clk), "%d", CLOCK_REALTIME);
	check_fdinfo(rt, "clockid", clk);
	check_fdinfo(rt, "settime flags", "01");
	CHECK(fcntl(tick, F_GETFD) == FD_CLOEXEC, "tick lost FD_CLOEXEC");
	CHECK(fcntl(rt, F_GETFL) & O_NONBLOCK, "rt lost O_NONBLOCK");
	CHECK(!(fcntl(boot, F_GETFL) & O_NONBLOCK), "boot became O_NONBLOCK");

	{
		struct itimerspec its = get(off);

		if (ts_ns(&its.it_value) || ts_ns(&its.it_interval))
			fail("disarmed timer is armed (%lld ns)", ts_ns(&its.it_value));
		if (read(off, &n, 8) != -1 || errno != EAGAIN)
			fail("disarmed timer readable");
	}
	{
		struct itimerspec its = get(done);

		if (ts_ns(&its.it_value) || ts_ns(&its.it_interval))
			fail("expired one-shot re-armed");
		if (read(done, &n, 8) != 8 || n != 1)
			fail("expired one-shot: pending tick lost (read gives %llu)", (unsigned long long)n);
	}
	{
		struct itimerspec its = get(tick);

		if (ts_ns(&its.it_interval) != NSEC / 10)
			fail("interval %lld ns, want 100 ms", ts_ns(&its.it_interval));
		if (ts_ns(&its.it_value) <= 0 || ts_ns(&its.it_value) > 2 * NSEC)
			fail("tick timer value %lld ns", ts_ns(&its.it_value));
		if (read(tick, &n, 8) != 8 || n < 1)
			fail("tick read");
		t0 = now_ns(CLOCK_MONOTONIC);
		if (read(tick, &n, 8) != 8 || n < 1)
			fail("tick read");
		t0 = now_ns(CLOCK_MONOTONIC) - t0;
		if (t0 > NSEC / 2)
			fail("one 100 ms period took %lld ms", t0 / 1000000);
	}
	{
		struct itimerspec its = get(boot);
		long long elapsed = now_ns(CLOCK_MONOTONIC) - t_boot;

		if (ts_ns(&its.it_interval) != 3600 * NSEC)
			fail("boottime interval %lld", ts_ns(&its.it_interval));
		/* at most the full hour, at least what is left of it on the clock */
		if (ts_ns(&its.it_value) > 3600 * NSEC ||
		    ts_ns(&its.it_value) < 3600 * NSEC - elapsed - NSEC)
			fail("boottime timer: %lld ms left, %lld ms elapsed of 3600 s",
			     ts_ns(&its.it_value) / 1000000, elapsed / 1000000);
	}
	{
		struct itimerspec its = get(rt);
		long long want = rt_target - now_ns(CLOCK_REALTIME);

		if (ts_ns(&its.it_interval))
			fail("rt timer got an interval");
		if (llabs(ts_ns(&its.it_value) - want) > 2 * NSEC)
			fail("absolute realtime timer: %lld s left, want %lld s",
			     ts_ns(&its.it_value) / NSEC, want / NSEC);
		if (read(rt, &n, 8) != -1 || errno != EAGAIN)
			fail("rt timer fired early");
	}
	pass();
}
