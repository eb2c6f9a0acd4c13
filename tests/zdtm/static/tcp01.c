// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An established loopback TCP connection (plus its listener) with unread
 * data both ways: 10000 bytes client->server, 30000 bytes server->client.
 * After C/R (--tcp-established) both ends have the same addresses, read
 * exactly what was queued, and the connection carries new data both ways.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "fdutil.h"

static void same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b, const char *what)
{
	if (a->sin_port != b->sin_port || a->sin_addr.s_addr != b->sin_addr.s_addr)
		fail("%s: address changed (port %u -> %u)", what, ntohs(a->sin_port), ntohs(b->sin_port));
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in c_self, c_peer, s_self, s_peer, t;
	socklen_t l = sizeof(sin);
	int lsk, cli, srv, n;

	test_init(argc, argv);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lsk = socket(AF_INET, SOCK_STREAM, 0);
	if (lsk < 0 || bind(lsk, (void *)&sin, sizeof(sin)) || listen(lsk, 4) ||
	    getsockname(lsk, (void *)&sin, &l))
		fail("listen");
	cli = socket(AF_INET, SOCK_STREAM, 0);
	if (cli < 0 || connect(cli, (void *)&sin, sizeof(sin)))
		fail("connect");
	srv = accept(lsk, NULL, NULL);
	if (srv < 0)
		fail("accept");
	write_pattern(cli, 10000, 70, "cli->srv");
	write_pattern(srv, 30000, 71, "srv->cli");
	/* wait until everything sits in the receive queues */
	for (int i = 0; i < 1000; i++) {
		int a = 0, b = 0;

		ioctl(srv, FIONREAD, &a);
		ioctl(cli, FIONREAD, &b);
		if (a == 10000 && b == 30000)
			break;
		usleep(1000);
	}
	l = sizeof(c_self);
	getsockname(cli, (void *)&c_self, &l);
	getpeername(cli, (void *)&c_peer, &l);
	getsockname(srv, (void *)&s_self, &l);
	getpeername(srv, (void *)&s_peer, &l);

	test_daemon();
	test_waitsig();

	l = sizeof(t);
	if (getsockname(cli, (void *)&t, &l))
		fail("client getsockname");
	same_addr(&c_self, &t, "client local");
	if (getpeername(cli, (void *)&t, &l))
		fail("client is not connected");
	same_addr(&c_peer, &t, "client peer");
	if (getsockname(srv, (void *)&t, &l))
		fail("server getsockname");
	same_addr(&s_self, &t, "server local");
	if (getpeername(srv, (void *)&t, &l))
		fail("server is not connected");
	same_addr(&s_peer, &t, "server peer");
	{
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		if (getsockopt(cli, IPPROTO_TCP, TCP_INFO, &ti, &tl) || ti.tcpi_state != TCP_ESTABLISHED)
			fail("client TCP state %d", ti.tcpi_state);
		if (getsockopt(srv, IPPROTO_TCP, TCP_INFO, &ti, &tl) || ti.tcpi_state != TCP_ESTABLISHED)
			fail("server TCP state %d", ti.tcpi_state);
	}
	if (ioctl(srv, FIONREAD, &n) || n != 10000)
		fail("server has %d bytes queued, want 10000", n);
	read_pattern(srv, 10000, 70, "server reads");
	read_pattern(cli, 30000, 71, "client reads");
	check_drained(srv, "server");
	check_drained(cli, "client");
	write_pattern(cli, 1 << 20, 72, "cli->srv after");
	read_pattern(srv, 1 << 20, 72, "srv reads after");
	write_pattern(srv, 1000, 73, "srv->cli after");
	read_pattern(cli, 1000, 73, "cli reads after");
	shutdown(cli, SHUT_WR);
	if (read(srv, &n, 1) != 0)
		fail("no FIN after shutdown");
	pass();
}
