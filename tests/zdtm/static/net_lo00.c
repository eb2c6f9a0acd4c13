// SPDX-License-Identifier: LGPL-2.1-or-later
/* net_lo00: in a network namespace of its own, lo is up with extra IPv4 and
 * IPv6 addresses and ip_forward set; a TCP socket listening on 127.0.0.2
 * still accepts connections after restore. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netutil.h"

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(4242) };
	int ls, c, s, one = 1;
	char *before;

	test_init(argc, argv);
	net_need_own_ns();
	net_run("ip link set lo up && ip addr add 127.0.0.2/8 dev lo scope host && "
		"ip -6 addr add ::2/128 dev lo && echo 1 > /proc/sys/net/ipv4/ip_forward");
	inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 4) < 0)
		fail("cannot listen on 127.0.0.2:4242");
	before = net_snapshot();

	test_daemon();
	test_waitsig();
	net_compare(before);
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		fail("cannot connect to 127.0.0.2:4242 after restore");
	s = accept(ls, NULL, NULL);
	if (s < 0 || write(c, "x", 1) != 1 || read(s, &one, 1) != 1)
		fail("the listener does not accept after restore");
	pass();
}
