// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vdso00: the vDSO is where AT_SYSINFO_EHDR says (glibc cached its entry
 * points at startup) and the vDSO clocks work and are sane after restore.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

static unsigned long vdso_start(void)
{
	char line[512];
	unsigned long s = 0, e;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &s, &e) == 2)
			break;
	fclose(f);
	return s;
}

static double ts2d(const struct timespec *t)
{
	return t->tv_sec + t->tv_nsec / 1e9;
}

static void check_clocks(void)
{
	static const clockid_t ids[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW,
					 CLOCK_BOOTTIME, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE };
	struct timespec a, b, k;
	struct timeval tv;
	unsigned int i, j;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if (clock_gettime(ids[i], &a))
			fail("clock_gettime(%d)", ids[i]);
		if (syscall(SYS_clock_gettime, ids[i], &k))
			fail("clock_gettime syscall(%d)", ids[i]);
		for (j = 0; j < 1000; j++) {
			if (clock_gettime(ids[i], &b))
				fail("clock_gettime(%d)", ids[i]);
			if (ts2d(&b) < ts2d(&a))
				fail("clock %d went backwards", ids[i]);
			a = b;
		}
		/* vDSO and kernel agree (coarse clocks tick every few ms). */
		if (ts2d(&b) - ts2d(&k) < -0.05 || ts2d(&b) - ts2d(&k) > 1)
			fail("clock %d: vDSO %.6f vs syscall %.6f", ids[i], ts2d(&b), ts2d(&k));
	}
	gettimeofday(&tv, NULL);
	clock_gettime(CLOCK_REALTIME, &a);
	if (ts2d(&a) - (tv.tv_sec + tv.tv_usec / 1e6) > 1 || ts2d(&a) < tv.tv_sec)
		fail("gettimeofday and CLOCK_REALTIME disagree");
	if (labs((long)time(NULL) - (long)a.tv_sec) > 1)
		fail("time() and CLOCK_REALTIME disagree");
}

int main(int argc, char **argv)
{
	unsigned long ehdr, start;

	test_init(argc, argv);
	ehdr = getauxval(AT_SYSINFO_EHDR);
	start = vdso_start();
	if (!ehdr || !start)
		skip("no vDSO");
	if (start != ehdr)
		fail("setup: [vdso] at %#lx but AT_SYSINFO_EHDR is %#lx", start, ehdr);
	check_clocks();

	test_daemon();
	test_waitsig();

	start = vdso_start();
	if (start != ehdr)
		fail("[vdso] is at %#lx after restore, AT_SYSINFO_EHDR (glibc's) is %#lx", start, ehdr);
	if (getauxval(AT_SYSINFO_EHDR) != ehdr)
		fail("AT_SYSINFO_EHDR changed");
	if (memcmp((void *)ehdr, ELFMAG, SELFMAG))
		fail("no ELF header at the vDSO address");
	check_clocks();
	pass();
}
