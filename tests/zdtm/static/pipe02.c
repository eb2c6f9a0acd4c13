// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pipe capacity and flags: one pipe grown to 256 KiB with a non-blocking
 * write end and 100 bytes queued, one pipe shrunk to one page and empty.
 * After C/R F_GETPIPE_SZ, O_NONBLOCK and the data are unchanged and the empty
 * pipe holds exactly one page before EAGAIN.
 */
#include "fdutil.h"

#define BIG (256 * 1024)

static size_t fill(int fd)
{
	static char buf[8192];
	size_t total = 0;
	ssize_t r;

	/* > PIPE_BUF writes may be partial, so this reaches the exact capacity */
	while ((r = write(fd, buf, sizeof(buf))) > 0)
		total += r;
	if (errno != EAGAIN)
		fail("fill: write");
	return total;
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE);
	int a[2], b[2];
	struct fd_snap s[4];

	test_init(argc, argv);
	if (pipe(a) || pipe2(b, O_NONBLOCK))
		fail("pipe");
	if (fcntl(a[1], F_SETPIPE_SZ, BIG) < BIG)
		skip("cannot grow a pipe to %d", BIG);
	if (fcntl(a[0], F_GETPIPE_SZ) != BIG)
		fail("F_GETPIPE_SZ %d after growing", fcntl(a[0], F_GETPIPE_SZ));
	if (fcntl(a[1], F_SETFL, O_NONBLOCK))
		fail("F_SETFL");
	write_pattern(a[1], 100, 9, "queue");
	if (fcntl(b[0], F_SETPIPE_SZ, page) != page)
		fail("cannot shrink a pipe to one page");
	fd_snap(a[0], &s[0], "big r");
	fd_snap(a[1], &s[1], "big w");
	fd_snap(b[0], &s[2], "small r");
	fd_snap(b[1], &s[3], "small w");

	test_daemon();
	test_waitsig();

	fd_snap_check(a[0], &s[0], false, "big r");
	fd_snap_check(a[1], &s[1], false, "big w");
	fd_snap_check(b[0], &s[2], false, "small r");
	fd_snap_check(b[1], &s[3], false, "small w");
	CHECK(!(fcntl(a[0], F_GETFL) & O_NONBLOCK), "big read end became O_NONBLOCK");
	CHECK(fcntl(a[1], F_GETFL) & O_NONBLOCK, "big write end lost O_NONBLOCK");
	CHECK(fcntl(b[0], F_GETFL) & O_NONBLOCK, "small read end lost O_NONBLOCK");
	CHECK(fcntl(a[0], F_GETPIPE_SZ) == BIG && fcntl(a[1], F_GETPIPE_SZ) == BIG,
	      "big pipe size %d, want %d", fcntl(a[0], F_GETPIPE_SZ), BIG);
	CHECK(fcntl(b[1], F_GETPIPE_SZ) == page, "small pipe size %d, want %ld",
	      fcntl(b[1], F_GETPIPE_SZ), page);

	read_pattern(a[0], 100, 9, "queued");
	{
		size_t got = fill(b[1]);

		CHECK(got == (size_t)page, "small pipe took %zu bytes, want %ld", got, page);
		got = fill(a[1]);
		CHECK(got == BIG, "big pipe took %zu bytes, want %d", got, BIG);
	}
	pass();
}
