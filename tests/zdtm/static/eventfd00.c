// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * eventfds: a plain counter at 42, an EFD_SEMAPHORE counter at 3, an
 * EFD_NONBLOCK one at 0 and one holding nearly the maximum count. After C/R
 * counts, semaphore semantics and flags are unchanged.
 */
#include <poll.h>
#include <sys/eventfd.h>
#include "fdutil.h"

static uint64_t count_of(int fd)
{
	char v[64];

	if (fdinfo_get(fd, "eventfd-count", v, sizeof(v)))
		fail("no eventfd-count in fdinfo of %d", fd);
	return strtoull(v, NULL, 16);
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int main(int argc, char **argv)
{
	int plain, sem, nb, big;
	uint64_t v;
	struct fd_snap s[4];
	const uint64_t bigval = 0xfffffffffffffffdULL;

	test_init(argc, argv);
	plain = eventfd(40, 0);
	sem = eventfd(0, EFD_SEMAPHORE | EFD_CLOEXEC);
	nb = eventfd(0, EFD_NONBLOCK);
	big = eventfd(0, EFD_NONBLOCK);
	if (plain < 0 || sem < 0 || nb < 0 || big < 0)
		fail("eventfd");
	v = 2;
	if (write(plain, &v, 8) != 8)
		fail("write");
	v = 3;
	if (write(sem, &v, 8) != 8)
		fail("write sem");
	if (write(big, &bigval, 8) != 8)
		fail("write big");
	fd_snap(plain, &s[0], "plain");
	fd_snap(sem, &s[1], "sem");
	fd_snap(nb, &s[2], "nb");
	fd_snap(big, &s[3], "big");

	test_daemon();
	test_waitsig();

	fd_snap_check(plain, &s[0], false, "plain");
	fd_snap_check(sem, &s[1], false, "sem");
	fd_snap_check(nb, &s[2], false, "nb");
	fd_snap_check(big, &s[3], false, "big");
	CHECK(fcntl(nb, F_GETFL) & O_NONBLOCK, "nb lost O_NONBLOCK");
	CHECK(!(fcntl(plain, F_GETFL) & O_NONBLOCK), "plain became O_NONBLOCK");
	CHECK(fcntl(sem, F_GETFD) == FD_CLOEXEC, "sem lost FD_CLOEXEC");
	CHECK(count_of(plain) == 42, "plain count %llu", (unsigned long long)count_of(plain));
	CHECK(count_of(sem) == 3, "sem count %llu", (unsigned long long)count_of(sem));
	CHECK(count_of(nb) == 0, "nb count %llu", (unsigned long long)count_of(nb));
	CHECK(count_of(big) == bigval, "big count %#llx", (unsigned long long)count_of(big));

	if (read(plain, &v, 8) != 8 || v != 42)
		fail("plain read %llu, want 42", (unsigned long long)v);
	CHECK(!readable(plain), "plain still readable after reading");
	for (int i = 0; i < 3; i++) {
		if (!readable(sem))
			fail("semaphore empty after %d reads", i);
		if (read(sem, &v, 8) != 8 || v != 1)
			fail("semaphore read %llu, want 1", (unsigned long long)v);
	}
	CHECK(!readable(sem), "semaphore readable a 4th time");
	if (read(nb, &v, 8) != -1 || errno != EAGAIN)
		fail("empty non-blocking eventfd read did not give EAGAIN");
	/* only 1 more fits below ULLONG_MAX - 1 */
	v = 2;
	if (write(big, &v, 8) != -1 || errno != EAGAIN)
		fail("big counter accepted an overflowing add");
	v = 1;
	if (write(big, &v, 8) != 8)
		fail("big counter refused the last unit");
	v = 5;
	if (write(nb, &v, 8) != 8 || read(nb, &v, 8) != 8 || v != 5)
		fail("nb after restore");
	pass();
}
