// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * AF_UNIX cases beside the plain ones: (a) a stream socket whose peer is
 * closed, with data left: it reads the data, then EOF; (b) a datagram client
 * connected to an abstract-named server, with a datagram queued at the
 * server: send() without an address still reaches the server; (c) a
 * SOCK_SEQPACKET listener with an accepted connection; (d) a datagram
 * socketpair carrying, in flight, one end of another socketpair whose other
 * end the process keeps: the two still talk after C/R; (e) an accepted
 * stream socket whose client and listener are closed, with data left: it
 * keeps the listener's name, reads the data, then EOF.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include "fdutil.h"

static socklen_t mkname(struct sockaddr_un *sun, const char *tag)
{
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1, "zdtm-unix05-%s-%d", tag, getpid());
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

int main(int argc, char **argv)
{
	struct sockaddr_un dsun, lsun;
	socklen_t dl, ll;
	int half[2], srv, cli, lsk, sc, sa, carrier[2], inner[2], orphan;
	struct sockaddr_un osun;
	socklen_t ol;
	char buf[256];

	test_init(argc, argv);
	/* (a) */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, half))
		fail("socketpair a");
	write_pattern(half[1], 777, 50, "a: to the survivor");
	close(half[1]);
	/* (b) */
	dl = mkname(&dsun, "dgram");
	srv = socket(AF_UNIX, SOCK_DGRAM, 0);
	cli = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (srv < 0 || cli < 0 || bind(srv, (void *)&dsun, dl) || connect(cli, (void *)&dsun, dl))
		fail("b: datagram server/client");
	datagen(buf, 60, 51);
	if (send(cli, buf, 60, 0) != 60)
		fail("b: send");
	/* (c) */
	ll = mkname(&lsun, "seqpacket");
	lsk = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	sc = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (lsk < 0 || sc < 0 || bind(lsk, (void *)&lsun, ll) || listen(lsk, 2) ||
	    connect(sc, (void *)&lsun, ll))
		fail("c: seqpacket listen/connect");
	sa = accept(lsk, NULL, NULL);
	if (sa < 0)
		fail("c: accept");
	datagen(buf, 33, 52);
	if (send(sc, buf, 33, 0) != 33)
		fail("c: send");
	/* (d) */
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, carrier) || socketpair(AF_UNIX, SOCK_STREAM, 0, inner))
		fail("socketpair d");
	write_pattern(inner[1], 40, 53, "d: inner");
	{
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { buf, 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		memset(cbuf, 0, sizeof(cbuf));
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &inner[0], sizeof(int));
		buf[0] = 'D';
		if (sendmsg(carrier[0], &mh, 0) != 1)
			fail("d: sendmsg");
		close(inner[0]);
	}
	/* (e) */
	ol = mkname(&osun, "orphan");
	{
		int l = socket(AF_UNIX, SOCK_STREAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0);

		if (l < 0 || c < 0 || bind(l, (void *)&osun, ol) || listen(l, 1) ||
		    connect(c, (void *)&osun, ol))
			fail("e: listen/connect");
		orphan = accept(l, NULL, NULL);
		if (orphan < 0)
			fail("e: accept");
		write_pattern(c, 99, 56, "e: to the orphan");
		close(c);
		close(l);
	}

	test_daemon();
	test_waitsig();

	/* (a) */
	read_pattern(half[0], 777, 50, "a: survivor reads");
	if (recv(half[0], buf, 1, MSG_DONTWAIT) != 0)
		fail("a: no EOF after the data (peer is closed)");
	/* (b) */
	if (recv(srv, buf, sizeof(buf), MSG_DONTWAIT) != 60 || datachk(buf, 60, 51))
		fail("b: queued datagram");
	datagen(buf, 70, 54);
	if (send(cli, buf, 70, 0) != 70)
		fail("b: client is no longer connected");
	if (recv(srv, buf, sizeof(buf), MSG_DONTWAIT) != 70 || datachk(buf, 70, 54))
		fail("b: new datagram");
	/* (c) */
	if (recv(sa, buf, sizeof(buf), MSG_DONTWAIT) != 33 || datachk(buf, 33, 52))
		fail("c: queued record");
	{
		struct sockaddr_un got;
		socklen_t gl = sizeof(got);

		if (getsockname(sa, (void *)&got, &gl) || gl != ll || memcmp(&got, &lsun, ll))
			fail("c: accepted socket's name");
		gl = sizeof(got);
		if (getpeername(sc, (void *)&got, &gl) || gl != ll || memcmp(&got, &lsun, ll))
			fail("c: client's peer name");
	}
	if (send(sa, "x", 1, 0) != 1 || recv(sc, buf, sizeof(buf), 0) != 1 || buf[0] != 'x')
		fail("c: accepted -> client");
	/* (d) */
	{
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		int got;

		if (recvmsg(carrier[1], &mh, MSG_DONTWAIT) != 1 || buf[0] != 'D')
			fail("d: carrier message");
		cm = CMSG_FIRSTHDR(&mh);
		if (!cm || cm->cmsg_type != SCM_RIGHTS)
			fail("d: no descriptor in the carrier message");
		memcpy(&got, CMSG_DATA(cm), sizeof(int));
		read_pattern(got, 40, 53, "d: inner data");
		write_pattern(got, 10, 55, "d: back");
		read_pattern(inner[1], 10, 55, "d: inner[1] reads");
	}
	/* (e) */
	{
		struct sockaddr_un got;
		socklen_t gl = sizeof(got);

		if (getsockname(orphan, (void *)&got, &gl) || gl != ol || memcmp(&got, &osun, ol))
			fail("e: orphan lost its name");
		read_pattern(orphan, 99, 56, "e: orphan reads");
		if (recv(orphan, buf, 1, MSG_DONTWAIT) != 0)
			fail("e: no EOF after the data");
	}
	pass();
}
