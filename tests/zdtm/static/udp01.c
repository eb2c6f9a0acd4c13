// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * IPv6 UDP on ::1: an IPV6_V6ONLY socket bound to ::1 with datagrams queued
 * from a connected socket, and a dual-stack socket bound to [::]. After C/R
 * addresses, the V6ONLY setting, the connection and the queued datagrams
 * are unchanged.
 */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include "fdutil.h"

static struct sockaddr_in6 addr_of(int fd)
{
	struct sockaddr_in6 sin;
	socklen_t l = sizeof(sin);

	if (getsockname(fd, (void *)&sin, &l))
		fail("getsockname");
	return sin;
}

static int v6only(int fd)
{
	int v = -1;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l))
		fail("IPV6_V6ONLY");
	return v;
}

int main(int argc, char **argv)
{
	struct sockaddr_in6 sin = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in6 a_addr, b_addr, d_addr;
	int a, b, d, one = 1, zero = 0;
	char buf[2048];

	test_init(argc, argv);
	a = socket(AF_INET6, SOCK_DGRAM, 0);
	if (a < 0)
		skip("no IPv6 sockets");
	if (setsockopt(a, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		fail("set IPV6_V6ONLY");
	if (bind(a, (void *)&sin, sizeof(sin)))
		skip("cannot bind ::1 (%s)", strerror(errno));
	b = socket(AF_INET6, SOCK_DGRAM, 0);
	d = socket(AF_INET6, SOCK_DGRAM, 0);
	if (b < 0 || d < 0 || setsockopt(d, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    bind(d, (void *)&any, sizeof(any)))
		fail("socket/bind [::]");
	a_addr = addr_of(a);
	d_addr = addr_of(d);
	if (connect(b, (void *)&a_addr, sizeof(a_addr)))
		fail("connect");
	b_addr = addr_of(b);
	for (int i = 0; i < 3; i++) {
		datagen(buf, 500 + i, 110 + i);
		if (send(b, buf, 500 + i, 0) != 500 + i)
			fail("send");
	}
	usleep(10000);

	test_daemon();
	test_waitsig();

	{
		struct sockaddr_in6 t = addr_of(a), p;
		socklen_t l = sizeof(p);

		if (t.sin6_port != a_addr.sin6_port || memcmp(&t.sin6_addr, &in6addr_loopback, 16))
			fail("A's address changed");
		t = addr_of(d);
		if (t.sin6_port != d_addr.sin6_port || memcmp(&t.sin6_addr, &in6addr_any, 16))
			fail("D's address changed");
		if (getpeername(b, (void *)&p, &l) || p.sin6_port != a_addr.sin6_port ||
		    memcmp(&p.sin6_addr, &in6addr_loopback, 16))
			fail("B is not connected to A");
	}
	CHECK(v6only(a) == 1, "A lost IPV6_V6ONLY");
	CHECK(v6only(d) == 0, "D became IPV6_V6ONLY");
	for (int i = 0; i < 3; i++) {
		struct sockaddr_in6 from;
		socklen_t l = sizeof(from);
		ssize_t r = recvfrom(a, buf, sizeof(buf), MSG_DONTWAIT, (void *)&from, &l);

		if (r != 500 + i || datachk(buf, r, 110 + i))
			fail("datagram %d: %zd bytes", i, r);
		if (from.sin6_port != b_addr.sin6_port || memcmp(&from.sin6_addr, &in6addr_loopback, 16))
			fail("datagram %d: wrong sender", i);
	}
	check_drained(a, "A");
	/* the dual-stack socket still takes IPv4 */
	{
		int v4 = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = d_addr.sin6_port };

		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		datagen(buf, 40, 120);
		if (sendto(v4, buf, 40, 0, (void *)&to, sizeof(to)) != 40)
			fail("IPv4 sendto the dual-stack socket");
		usleep(10000);
		if (recv(d, buf, sizeof(buf), MSG_DONTWAIT) != 40 || datachk(buf, 40, 120))
			fail("dual-stack socket did not get the IPv4 datagram");
	}
	datagen(buf, 60, 121);
	if (sendto(a, buf, 60, 0, (void *)&b_addr, sizeof(b_addr)) != 60)
		fail("A->B");
	usleep(10000);
	if (recv(b, buf, sizeof(buf), MSG_DONTWAIT) != 60 || datachk(buf, 60, 121))
		fail("B did not get A's datagram");
	pass();
}
