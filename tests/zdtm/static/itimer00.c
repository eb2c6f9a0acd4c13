// SPDX-License-Identifier: LGPL-2.1-or-later
/* itimer00: ITIMER_REAL, ITIMER_VIRTUAL and ITIMER_PROF stay armed with their intervals and fire. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "zdtmtst.h"

static const struct {
	int which, sig;
	const char *name;
	long usec;
} timers[] = {
	{ ITIMER_REAL, SIGALRM, "REAL", 200000 },
	{ ITIMER_VIRTUAL, SIGVTALRM, "VIRTUAL", 110000 },
	{ ITIMER_PROF, SIGPROF, "PROF", 130000 },
};
static volatile int hits[65];

static void handler(int sig)
{
	hits[sig]++;
}

static double now_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct itimerval it;
	volatile unsigned long spin = 0;
	double t0;
	int i;

	test_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < 3; i++) {
		sigaction(timers[i].sig, &sa, NULL);
		it.it_interval.tv_sec = 0;
		it.it_interval.tv_usec = timers[i].usec;
		it.it_value = it.it_interval;
		if (setitimer(timers[i].which, &it, NULL))
			fail("setitimer %s", timers[i].name);
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < 3; i++) {
		if (getitimer(timers[i].which, &it))
			fail("getitimer %s", timers[i].name);
		if (it.it_interval.tv_sec || it.it_interval.tv_usec != timers[i].usec)
			fail("ITIMER_%s interval %ld.%06ld, expected 0.%06ld", timers[i].name,
			     (long)it.it_interval.tv_sec, (long)it.it_interval.tv_usec, timers[i].usec);
		/* CPU-time timers are accounted in ticks: allow one tick or so of slack. */
		if (it.it_value.tv_sec || it.it_value.tv_usec <= 0 ||
		    it.it_value.tv_usec > timers[i].usec + (timers[i].which == ITIMER_REAL ? 0 : 20000))
			fail("ITIMER_%s value %ld.%06ld out of range", timers[i].name,
			     (long)it.it_value.tv_sec, (long)it.it_value.tv_usec);
		hits[timers[i].sig] = 0;
	}
	/* Burn CPU until every timer fired (at most ~1.5 s of CPU). */
	t0 = now_cpu();
	while (now_cpu() - t0 < 1.5 &&
	       (!hits[SIGALRM] || !hits[SIGVTALRM] || !hits[SIGPROF]))
		for (i = 0; i < 100000; i++)
			spin++;
	for (i = 0; i < 3; i++)
		if (!hits[timers[i].sig])
			fail("ITIMER_%s did not fire after restore", timers[i].name);
	pass();
}
