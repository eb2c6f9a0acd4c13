// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * UDP on 127.0.0.1: a bound socket A with datagrams queued from a connected
 * socket B and from an unconnected socket C. After C/R A returns each
 * datagram in order with its sender's address, B is still connected to A
 * (send() without address works, datagrams from others are filtered), and
 * traffic flows both ways.
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include "fdutil.h"

#define NDG 4

static struct sockaddr_in addr_of(int fd)
{
	struct sockaddr_in sin;
	socklen_t l = sizeof(sin);

	if (getsockname(fd, (void *)&sin, &l))
		fail("getsockname");
	return sin;
}

static void expect(int fd, size_t len, uint32_t seed, const struct sockaddr_in *from, const char *what)
{
	char buf[2048];
	struct sockaddr_in sin;
	socklen_t l = sizeof(sin);
	ssize_t r = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (void *)&sin, &l);

	if (r != (ssize_t)len || datachk(buf, len, seed))
		fail("%s: got %zd bytes, want %zu (or contents differ)", what, r, len);
	if (from && (sin.sin_port != from->sin_port || sin.sin_addr.s_addr != from->sin_addr.s_addr))
		fail("%s: sender port %u, want %u", what, ntohs(sin.sin_port), ntohs(from->sin_port));
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET }, a_addr, b_addr, c_addr;
	int a, b, c;
	char buf[2048];

	test_init(argc, argv);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a = socket(AF_INET, SOCK_DGRAM, 0);
	b = socket(AF_INET, SOCK_DGRAM, 0);
	c = socket(AF_INET, SOCK_DGRAM, 0);
	if (a < 0 || b < 0 || c < 0 || bind(a, (void *)&sin, sizeof(sin)) || bind(c, (void *)&sin, sizeof(sin)))
		fail("socket/bind");
	a_addr = addr_of(a);
	if (connect(b, (void *)&a_addr, sizeof(a_addr)))
		fail("connect");
	b_addr = addr_of(b);
	c_addr = addr_of(c);
	for (int i = 0; i < NDG; i++) {
		datagen(buf, 100 * (i + 1), 90 + i);
		if (i % 2 == 0 && send(b, buf, 100 * (i + 1), 0) != 100 * (i + 1))
			fail("send");
		if (i % 2 == 1 && sendto(c, buf, 100 * (i + 1), 0, (void *)&a_addr, sizeof(a_addr)) != 100 * (i + 1))
			fail("sendto");
	}
	/* let loopback delivery finish */
	usleep(10000);

	test_daemon();
	test_waitsig();

	{
		struct sockaddr_in t = addr_of(a), p;
		socklen_t l = sizeof(p);

		if (t.sin_port != a_addr.sin_port)
			fail("A moved from port %u to %u", ntohs(a_addr.sin_port), ntohs(t.sin_port));
		t = addr_of(b);
		if (t.sin_port != b_addr.sin_port)
			fail("B moved from port %u to %u", ntohs(b_addr.sin_port), ntohs(t.sin_port));
		if (getpeername(b, (void *)&p, &l) || p.sin_port != a_addr.sin_port)
			fail("B is no longer connected to A");
		if (getpeername(a, (void *)&p, &l) != -1 || errno != ENOTCONN)
			fail("A became connected");
	}
	for (int i = 0; i < NDG; i++)
		expect(a, 100 * (i + 1), 90 + i, i % 2 ? &c_addr : &b_addr, "queued datagram");
	check_drained(a, "A");

	/* B is connected: a datagram from C must not reach it, one from A must */
	datagen(buf, 10, 95);
	if (sendto(c, buf, 10, 0, (void *)&b_addr, sizeof(b_addr)) != 10)
		fail("sendto B from C");
	datagen(buf, 20, 96);
	if (sendto(a, buf, 20, 0, (void *)&b_addr, sizeof(b_addr)) != 20)
		fail("sendto B from A");
	usleep(10000);
	expect(b, 20, 96, &a_addr, "B from A");
	check_drained(b, "B (datagram from C passed the connect filter)");
	datagen(buf, 30, 97);
	if (send(b, buf, 30, 0) != 30)
		fail("send B->A");
	usleep(10000);
	expect(a, 30, 97, &b_addr, "A from B");
	pass();
}
