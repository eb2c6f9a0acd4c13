// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A full pipe: exactly 64 KiB queued in a default-size pipe. After C/R the
 * pipe is still full (a non-blocking write fails with EAGAIN), all 64 KiB
 * come back in order, and it then holds 64 KiB again.
 */
#include <sys/ioctl.h>
#include "fdutil.h"

#define SIZE 65536

int main(int argc, char **argv)
{
	int p[2], nread;
	char c = 0;

	test_init(argc, argv);
	if (pipe(p))
		fail("pipe");
	if (fcntl(p[0], F_GETPIPE_SZ) != SIZE)
		skip("default pipe size is %d", fcntl(p[0], F_GETPIPE_SZ));
	write_pattern(p[1], SIZE, 64, "fill");
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	if (write(p[1], &c, 1) != -1 || errno != EAGAIN)
		fail("pipe not full before C/R");
	fcntl(p[1], F_SETFL, 0);

	test_daemon();
	test_waitsig();

	CHECK(fcntl(p[0], F_GETPIPE_SZ) == SIZE, "pipe size %d", fcntl(p[0], F_GETPIPE_SZ));
	if (ioctl(p[0], FIONREAD, &nread) || nread != SIZE)
		fail("FIONREAD %d, want %d", nread, SIZE);
	CHECK(!(fcntl(p[1], F_GETFL) & O_NONBLOCK), "write end became O_NONBLOCK");
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	if (write(p[1], &c, 1) != -1 || errno != EAGAIN)
		fail("pipe is not full after C/R");
	read_pattern(p[0], SIZE, 64, "queued 64 KiB");
	check_drained(p[0], "pipe");
	fcntl(p[1], F_SETFL, 0);
	write_pattern(p[1], SIZE, 65, "refill");
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	if (write(p[1], &c, 1) != -1 || errno != EAGAIN)
		fail("pipe does not hold exactly 64 KiB after C/R");
	read_pattern(p[0], SIZE, 65, "refill");
	pass();
}
