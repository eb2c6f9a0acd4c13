// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An AF_UNIX SOCK_DGRAM socketpair with datagrams of different sizes
 * (including an empty one) queued both ways. After C/R every datagram comes
 * back whole, in order, with its own boundary, and nothing more.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "fdutil.h"

static const size_t sizes_ab[] = { 17, 1, 1000, 0, 4000, 33 };
static const size_t sizes_ba[] = { 512, 9000, 2 };
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void send_all(int fd, const size_t *sizes, size_t n, uint32_t seed)
{
	char buf[16384];

	for (size_t i = 0; i < n; i++) {
		datagen(buf, sizes[i], seed + i);
		if (send(fd, buf, sizes[i], 0) != (ssize_t)sizes[i])
			fail("send %zu bytes", sizes[i]);
	}
}

static void recv_all(int fd, const size_t *sizes, size_t n, uint32_t seed, const char *what)
{
	char buf[16384];

	for (size_t i = 0; i < n; i++) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t r = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (r != (ssize_t)sizes[i])
			fail("%s: datagram %zu is %zd bytes, want %zu", what, i, r, sizes[i]);
		if (mh.msg_flags & MSG_TRUNC)
			fail("%s: datagram %zu truncated", what, i);
		if (datachk(buf, r, seed + i))
			fail("%s: datagram %zu contents", what, i);
	}
	check_drained(fd, what);
}

int main(int argc, char **argv)
{
	int sk[2];
	int v;
	socklen_t l = sizeof(v);

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sk))
		fail("socketpair");
	send_all(sk[0], sizes_ab, N(sizes_ab), 100);
	send_all(sk[1], sizes_ba, N(sizes_ba), 200);

	test_daemon();
	test_waitsig();

	if (getsockopt(sk[0], SOL_SOCKET, SO_TYPE, &v, &l) || v != SOCK_DGRAM)
		fail("SO_TYPE %d", v);
	/* FIONREAD on a datagram socket is the size of the first datagram */
	if (ioctl(sk[1], FIONREAD, &v) || v != (int)sizes_ab[0])
		fail("FIONREAD %d, want %zu", v, sizes_ab[0]);
	recv_all(sk[1], sizes_ab, N(sizes_ab), 100, "b");
	recv_all(sk[0], sizes_ba, N(sizes_ba), 200, "a");
	send_all(sk[1], sizes_ab, N(sizes_ab), 300);
	recv_all(sk[0], sizes_ab, N(sizes_ab), 300, "a after");
	pass();
}
