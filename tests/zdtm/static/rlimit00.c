// SPDX-License-Identifier: LGPL-2.1-or-later
/* rlimit00: lowered soft (and some hard) resource limits are restored exactly. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/resource.h>

#include "zdtmtst.h"

struct lim {
	int res;
	const char *name;
	rlim_t soft, hard; /* RLIM_SAVED_CUR: keep the current hard limit */
};

static struct lim lims[] = {
	{ RLIMIT_NOFILE, "NOFILE", 512, RLIM_SAVED_CUR },
	{ RLIMIT_STACK, "STACK", 4 << 20, RLIM_SAVED_CUR },
	{ RLIMIT_CORE, "CORE", 0, 1 << 20 },
	{ RLIMIT_CPU, "CPU", 3600, 7200 },
	{ RLIMIT_FSIZE, "FSIZE", 1 << 30, RLIM_SAVED_CUR },
	{ RLIMIT_DATA, "DATA", 1UL << 34, RLIM_SAVED_CUR },
	{ RLIMIT_AS, "AS", 1UL << 40, RLIM_SAVED_CUR },
	{ RLIMIT_NPROC, "NPROC", 5000, RLIM_SAVED_CUR },
	{ RLIMIT_MEMLOCK, "MEMLOCK", 32768, RLIM_SAVED_CUR },
	{ RLIMIT_MSGQUEUE, "MSGQUEUE", 4096, RLIM_SAVED_CUR },
	{ RLIMIT_NICE, "NICE", 3, RLIM_SAVED_CUR },
	{ RLIMIT_RTPRIO, "RTPRIO", 2, RLIM_SAVED_CUR },
	{ RLIMIT_RTTIME, "RTTIME", 500000, RLIM_SAVED_CUR },
	{ RLIMIT_SIGPENDING, "SIGPENDING", 1000, RLIM_SAVED_CUR },
	{ RLIMIT_LOCKS, "LOCKS", 100, RLIM_SAVED_CUR },
};
#define N (int)(sizeof(lims) / sizeof(lims[0]))

int main(int argc, char **argv)
{
	struct rlimit rl;
	int i;

	test_init(argc, argv);
	for (i = 0; i < N; i++) {
		if (getrlimit(lims[i].res, &rl))
			fail("getrlimit %s", lims[i].name);
		if (lims[i].hard == RLIM_SAVED_CUR || (rl.rlim_max != RLIM_INFINITY && lims[i].hard > rl.rlim_max))
			lims[i].hard = rl.rlim_max;
		if (lims[i].hard != RLIM_INFINITY && lims[i].soft > lims[i].hard)
			lims[i].soft = lims[i].hard;
		rl.rlim_cur = lims[i].soft;
		rl.rlim_max = lims[i].hard;
		if (setrlimit(lims[i].res, &rl))
			fail("setrlimit %s %lu/%lu", lims[i].name, (unsigned long)rl.rlim_cur,
			     (unsigned long)rl.rlim_max);
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < N; i++) {
		if (getrlimit(lims[i].res, &rl))
			fail("getrlimit %s", lims[i].name);
		if (rl.rlim_cur != lims[i].soft || rl.rlim_max != lims[i].hard)
			fail("RLIMIT_%s is %lu/%lu, expected %lu/%lu", lims[i].name,
			     (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max,
			     (unsigned long)lims[i].soft, (unsigned long)lims[i].hard);
	}
	pass();
}
