// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An AF_UNIX SOCK_STREAM socketpair with data queued both ways (5000 bytes
 * a->b, 7000 bytes b->a). After C/R each end has exactly its bytes queued,
 * the ends are still connected to each other, types and flags are kept.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "fdutil.h"

static void check_type(int fd, int want)
{
	int v;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) || v != want)
		fail("fd %d SO_TYPE %d, want %d", fd, v, want);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) || v != AF_UNIX)
		fail("fd %d SO_DOMAIN %d", fd, v);
}

int main(int argc, char **argv)
{
	struct fd_snap sa, sb;
	int sk[2], n;

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sk))
		fail("socketpair");
	fcntl(sk[1], F_SETFL, 0);
	write_pattern(sk[0], 5000, 10, "a->b");
	write_pattern(sk[1], 7000, 11, "b->a");
	fd_snap(sk[0], &sa, "a");
	fd_snap(sk[1], &sb, "b");

	test_daemon();
	test_waitsig();

	fd_snap_check(sk[0], &sa, false, "a");
	fd_snap_check(sk[1], &sb, false, "b");
	CHECK(fcntl(sk[0], F_GETFL) & O_NONBLOCK, "a lost O_NONBLOCK");
	CHECK(!(fcntl(sk[1], F_GETFL) & O_NONBLOCK), "b got O_NONBLOCK");
	check_type(sk[0], SOCK_STREAM);
	check_type(sk[1], SOCK_STREAM);
	if (ioctl(sk[1], FIONREAD, &n) || n != 5000)
		fail("b has %d bytes queued, want 5000", n);
	if (ioctl(sk[0], FIONREAD, &n) || n != 7000)
		fail("a has %d bytes queued, want 7000", n);
	read_pattern(sk[1], 5000, 10, "b reads");
	read_pattern(sk[0], 7000, 11, "a reads");
	check_drained(sk[0], "a");
	check_drained(sk[1], "b");
	{
		struct ucred uc;
		socklen_t l = sizeof(uc);

		if (getsockopt(sk[0], SOL_SOCKET, SO_PEERCRED, &uc, &l) || uc.pid != getpid())
			fail("SO_PEERCRED pid %d, want %d", uc.pid, getpid());
	}
	write_pattern(sk[0], 100000, 12, "a->b after");
	read_pattern(sk[1], 100000, 12, "b reads after");
	close(sk[0]);
	{
		char c;

		if (read(sk[1], &c, 1) != 0)
			fail("no EOF on b after closing a");
	}
	pass();
}
