// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An AF_UNIX SOCK_SEQPACKET socketpair with records queued both ways. After
 * C/R records keep their boundaries (a short read truncates and says
 * MSG_TRUNC), order and contents; closing one end gives EOF on the other.
 */
#include <sys/socket.h>
#include "fdutil.h"

static const size_t sizes[] = { 100, 3000, 1, 60000, 7 };
#define N (sizeof(sizes) / sizeof(sizes[0]))

int main(int argc, char **argv)
{
	static char buf[65536];
	int sk[2], v;
	socklen_t l = sizeof(v);

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sk))
		fail("socketpair");
	for (size_t i = 0; i < N; i++) {
		datagen(buf, sizes[i], 40 + i);
		if (send(sk[0], buf, sizes[i], 0) != (ssize_t)sizes[i])
			fail("send %zu", sizes[i]);
	}
	datagen(buf, 500, 99);
	if (send(sk[1], buf, 500, 0) != 500)
		fail("send back");

	test_daemon();
	test_waitsig();

	if (getsockopt(sk[1], SOL_SOCKET, SO_TYPE, &v, &l) || v != SOCK_SEQPACKET)
		fail("SO_TYPE %d", v);
	for (size_t i = 0; i < N; i++) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t r;

		if (i == 1)	/* read only part of the second record */
			iov.iov_len = 10;
		r = recvmsg(sk[1], &mh, MSG_DONTWAIT);
		if (i == 1) {
			if (r != 10 || !(mh.msg_flags & MSG_TRUNC) || datachk(buf, 10, 40 + i))
				fail("short read of record 1: %zd flags %#x", r, mh.msg_flags);
			continue;
		}
		if (r != (ssize_t)sizes[i] || (mh.msg_flags & MSG_TRUNC))
			fail("record %zu: %zd bytes, want %zu", i, r, sizes[i]);
		if (datachk(buf, r, 40 + i))
			fail("record %zu contents", i);
	}
	check_drained(sk[1], "b");
	if (recv(sk[0], buf, sizeof(buf), MSG_DONTWAIT) != 500 || datachk(buf, 500, 99))
		fail("record b->a");
	check_drained(sk[0], "a");
	close(sk[0]);
	if (recv(sk[1], buf, sizeof(buf), 0) != 0)
		fail("no EOF after closing the peer");
	pass();
}
