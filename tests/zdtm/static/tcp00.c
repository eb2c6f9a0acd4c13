// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A listening TCP socket on 127.0.0.1 at an ephemeral port with a backlog
 * and O_NONBLOCK. After C/R it listens on the same address, accepts new
 * connections, and the port is still taken.
 */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include "fdutil.h"

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET }, got;
	socklen_t l = sizeof(sin);
	int lsk, v;
	socklen_t vl = sizeof(v);
	struct fd_snap s;

	test_init(argc, argv);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lsk = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lsk < 0 || bind(lsk, (void *)&sin, sizeof(sin)) || listen(lsk, 16))
		fail("listen on 127.0.0.1");
	if (getsockname(lsk, (void *)&sin, &l))
		fail("getsockname");
	fd_snap(lsk, &s, "listener");

	test_daemon();
	test_waitsig();

	fd_snap_check(lsk, &s, false, "listener");
	l = sizeof(got);
	if (getsockname(lsk, (void *)&got, &l) || got.sin_port != sin.sin_port ||
	    got.sin_addr.s_addr != sin.sin_addr.s_addr)
		fail("listener moved to %s:%u, was port %u", inet_ntoa(got.sin_addr),
		     ntohs(got.sin_port), ntohs(sin.sin_port));
	if (getsockopt(lsk, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) || v != 1)
		fail("not listening");
	if (accept(lsk, NULL, NULL) != -1 || errno != EAGAIN)
		fail("a connection appeared from nowhere");
	for (int i = 0; i < 3; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0), a;
		struct sockaddr_in cin, ain;
		socklen_t cl = sizeof(cin), al = sizeof(ain);

		if (c < 0 || connect(c, (void *)&sin, sizeof(sin)))
			fail("connect %d to port %u", i, ntohs(sin.sin_port));
		a = accept(lsk, (void *)&ain, &al);
		if (a < 0)
			fail("accept %d", i);
		getsockname(c, (void *)&cin, &cl);
		if (cin.sin_port != ain.sin_port)
			fail("accepted a different connection");
		write_pattern(c, 20000, 60 + i, "c->a");
		read_pattern(a, 20000, 60 + i, "a reads");
		close(c);
		close(a);
	}
	{
		int t = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in same = sin;

		if (bind(t, (void *)&same, sizeof(same)) != -1 || errno != EADDRINUSE)
			fail("port %u is free: the listener is not bound to it", ntohs(sin.sin_port));
	}
	pass();
}
