// SPDX-License-Identifier: LGPL-2.1-or-later
/* timens00: a tree in a time namespace of its own keeps its monotonic and
 * boottime offsets; its clocks (vDSO and system call) read the host's plus
 * the offsets and never go back across the checkpoint; a child sees the same. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define MONO_SEC (10LL * 86400)
#define MONO_NSEC 123456789L
#define BOOT_SEC (20LL * 86400 + 3)
#define BOOT_NSEC 987654321L
#define NSEC 1000000000LL

static long long now_ns(clockid_t c, int raw)
{
	struct timespec ts;

	if (raw ? syscall(SYS_clock_gettime, c, &ts) : clock_gettime(c, &ts))
		fail("clock_gettime(%d): %s", (int)c, strerror(errno));
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

/* Everything this process can check about its time namespace; NULL if fine. */
static const char *check(long long mono_before, char *why, size_t len)
{
	char buf[256], name[16];
	long long sec, mono, boot, mono_raw, boot_raw;
	long nsec;
	int seen = 0, fd = open("/proc/self/timens_offsets", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	char *l;

	if (n <= 0)
		return snprintf(why, len, "cannot read /proc/self/timens_offsets: %s", strerror(errno)), why;
	close(fd);
	buf[n] = '\0';
	for (l = buf; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (sscanf(l, "%15s %lld %ld", name, &sec, &nsec) != 3)
			break;
		if (!strcmp(name, "monotonic")) {
			if (sec != MONO_SEC || nsec != MONO_NSEC)
				return snprintf(why, len, "monotonic offset %lld.%09ld, expected %lld.%09ld", sec,
						nsec, MONO_SEC, MONO_NSEC), why;
			seen |= 1;
		} else if (!strcmp(name, "boottime")) {
			if (sec != BOOT_SEC || nsec != BOOT_NSEC)
				return snprintf(why, len, "boottime offset %lld.%09ld, expected %lld.%09ld", sec,
						nsec, BOOT_SEC, BOOT_NSEC), why;
			seen |= 2;
		}
	}
	if (seen != 3)
		return snprintf(why, len, "timens_offsets lacks a clock: '%s'", buf), why;
	mono = now_ns(CLOCK_MONOTONIC, 0);
	boot = now_ns(CLOCK_BOOTTIME, 0);
	mono_raw = now_ns(CLOCK_MONOTONIC, 1);
	boot_raw = now_ns(CLOCK_BOOTTIME, 1);
	if (mono < MONO_SEC * NSEC + MONO_NSEC)
		return snprintf(why, len, "CLOCK_MONOTONIC %lld ns is below its offset", mono), why;
	if (mono < mono_before)
		return snprintf(why, len, "CLOCK_MONOTONIC went back: %lld ns, was %lld ns", mono, mono_before), why;
	/* the vDSO reads the namespace's page; the system call the kernel's */
	if (llabs(mono_raw - mono) > NSEC || llabs(boot_raw - boot) > NSEC)
		return snprintf(why, len, "vDSO and system call differ: monotonic %lld/%lld, boottime %lld/%lld",
				mono, mono_raw, boot, boot_raw), why;
	/* the host here never suspends: boottime - monotonic is the offsets' difference */
	if (llabs((boot - mono) - ((BOOT_SEC - MONO_SEC) * NSEC + BOOT_NSEC - MONO_NSEC)) > 60 * NSEC)
		return snprintf(why, len, "CLOCK_BOOTTIME - CLOCK_MONOTONIC is %lld ns, expected about %lld ns",
				boot - mono, (BOOT_SEC - MONO_SEC) * NSEC + BOOT_NSEC - MONO_NSEC), why;
	return NULL;
}

int main(int argc, char **argv)
{
	char buf[128], why[512];
	long long before;
	const char *err;
	int p[2], fd, n, st;
	pid_t c;

	/* the launcher's children (the tested tree) are born in the new namespace */
	if (unshare(CLONE_NEWTIME) < 0) {
		if (errno == EINVAL)
			fprintf(stderr, "SKIP: no time namespaces in this kernel (CONFIG_TIME_NS)\n");
		else
			fprintf(stderr, "FAIL: unshare(CLONE_NEWTIME): %s\n", strerror(errno));
		return errno == EINVAL ? 0 : 1;
	}
	n = snprintf(buf, sizeof(buf), "monotonic %lld %ld\nboottime %lld %ld\n", MONO_SEC, MONO_NSEC,
		     BOOT_SEC, BOOT_NSEC);
	fd = open("/proc/self/timens_offsets", O_WRONLY);
	if (fd < 0 || write(fd, buf, n) != n) {
		fprintf(stderr, "FAIL: cannot write timens_offsets: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	test_init(argc, argv);
	if ((err = check(0, why, sizeof(why))))
		fail("before the checkpoint: %s", err);
	if (pipe(p) < 0)
		fail("pipe");
	c = fork();
	if (c < 0)
		fail("fork");
	if (c == 0) {
		char x;

		close(p[1]);
		before = now_ns(CLOCK_MONOTONIC, 0);
		if (read(p[0], &x, 1) != 1)
			_exit(2);
		if ((err = check(before, why, sizeof(why)))) {
			test_msg("child: %s", err);
			_exit(1);
		}
		_exit(0);
	}
	close(p[0]);
	before = now_ns(CLOCK_MONOTONIC, 0);
	test_daemon();
	test_waitsig();
	if ((err = check(before, why, sizeof(why))))
		fail("%s", err);
	if (write(p[1], "x", 1) != 1)
		fail("cannot wake the child");
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("the child found its time namespace wrong (status 0x%x)", st);
	pass();
}
