// SPDX-License-Identifier: LGPL-2.1-or-later
/* net_veth00: a veth pair with both ends inside the test's network namespace,
 * with MAC, MTU, IPv4/IPv6 addresses, routes and forwarding set; all of it
 * is the same after restore. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <unistd.h>

#include "netutil.h"

int main(int argc, char **argv)
{
	char *before;

	test_init(argc, argv);
	net_need_own_ns();
	net_run("ip link set lo up && ip link add zv0 type veth peer name zv1 && "
		"ip link set zv0 address 02:00:00:00:00:01 mtu 1400 && ip link set zv1 mtu 1400 && "
		"ip link set zv0 up && ip link set zv1 up && "
		"ip addr add 10.9.0.1/24 dev zv0 && ip addr add 10.9.1.1/24 dev zv1 && "
		"ip -6 addr add fd00:9::1/64 dev zv0 nodad && "
		"ip route add 10.10.0.0/16 via 10.9.0.254 dev zv0 && "
		"ip route add 192.168.77.0/24 dev zv1 metric 50 && "
		"ip -6 route add fd00:10::/48 via fd00:9::fe dev zv0 && "
		"echo 1 > /proc/sys/net/ipv4/ip_forward && echo 2 > /proc/sys/net/ipv4/conf/all/rp_filter");
	before = net_snapshot();

	test_daemon();
	test_waitsig();
	net_compare(before);
	pass();
}
