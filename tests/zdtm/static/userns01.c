// SPDX-License-Identifier: LGPL-2.1-or-later
/* userns01: a tree in a user namespace of its own and a time namespace owned
 * by it keeps its clock offsets (its clocks never go back) and the ownership;
 * its uid_map stays. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"
#include "nsutil.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef NS_GET_USERNS
#define NS_GET_USERNS 0xb701
#endif

#define MAP "0 0 1\n1 400001 1000\n"
#define OFFSETS "monotonic 86400 5\nboottime 172800 7\n"

static ino_t ino_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		fail("stat %s: %s", path, strerror(errno));
	return st.st_ino;
}

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	char buf[256], want[256];
	long long before;
	int fd, u;
	struct stat st;

	enter_userns(MAP);
	/* the time namespace is made inside the user namespace: owned by it */
	if (unshare(CLONE_NEWTIME) < 0) {
		fprintf(stderr, "FAIL: unshare(CLONE_NEWTIME): %s\n", strerror(errno));
		return 1;
	}
	nsutil_write(getpid(), "timens_offsets", OFFSETS);
	test_init(argc, argv);
	if (getpid() != 1)
		skip("needs a PID namespace of its own with its user namespace (run.sh --ns)");
	before = mono_ns();
	test_daemon();
	test_waitsig();

	if (test_read_file("/proc/self/timens_offsets", buf, sizeof(buf)) <= 0)
		fail("cannot read /proc/self/timens_offsets");
	{
		long long ms, bs;
		long mn, bn;

		if (sscanf(buf, "monotonic %lld %ld boottime %lld %ld", &ms, &mn, &bs, &bn) != 4 ||
		    ms != 86400 || mn != 5 || bs != 172800 || bn != 7)
			fail("timens_offsets is '%s', expected monotonic 86400 5, boottime 172800 7", buf);
	}
	if (mono_ns() < before)
		fail("CLOCK_MONOTONIC went back across the checkpoint");
	fd = open("/proc/self/ns/time", O_RDONLY);
	if (fd < 0 || (u = ioctl(fd, NS_GET_USERNS)) < 0 || fstat(u, &st) < 0)
		fail("cannot find the owner of the time namespace: %s", strerror(errno));
	if (st.st_ino != ino_of("/proc/self/ns/user"))
		fail("the time namespace is not owned by the tree's user namespace");
	if (test_read_file("/proc/self/uid_map", buf, sizeof(buf)) <= 0)
		fail("cannot read /proc/self/uid_map");
	{
		unsigned a, b, c, d, e, f;

		if (sscanf(buf, "%u %u %u %u %u %u", &a, &b, &c, &d, &e, &f) != 6)
			fail("uid_map is '%s'", buf);
		snprintf(buf, sizeof(buf), "%u %u %u\n%u %u %u\n", a, b, c, d, e, f);
		snprintf(want, sizeof(want), "%s", MAP);
		if (strcmp(buf, want))
			fail("uid_map is '%s', expected '%s'", buf, want);
	}
	pass();
}
