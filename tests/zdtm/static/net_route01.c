// SPDX-License-Identifier: LGPL-2.1-or-later
/* net_route01: routes in tables other than main (100, 200, 300, local, and
 * 70000 above the 8-bit ids), of every restorable type (unicast, local,
 * blackhole, unreachable, prohibit, throw), with metrics (mtu, advmss),
 * next hops with weights, onlink gateways, IPv6 preferences and metrics.
 * After restore every route of every table is the same, and a few are
 * checked one by one with `ip route get`. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <unistd.h>

#include "netutil.h"

#define ROUTES "ip -4 -o route show table all; ip -6 -o route show table all"

static const char *const expect[] = {
	/* what `ip -o route show table T ...` must print, one route each */
	"ip -4 -o route show table 100 10.20.0.0/16|10.20.0.0/16 via 10.9.0.254 dev zv0",
	"ip -4 -o route show table 100 default|default via 10.9.1.254 dev zv1 metric 7",
	"ip -4 -o route show table 100 10.33.0.0/16|throw 10.33.0.0/16",
	"ip -4 -o route show table 100 10.50.0.0/16|10.50.0.0/16 via 192.168.200.1 dev zv0 onlink",
	"ip -4 -o route show table 200 10.21.0.0/16|10.21.0.0/16 dev zv1 scope link mtu 1300 advmss 1200",
	"ip -4 -o route show table 200 10.30.0.0/16|blackhole 10.30.0.0/16",
	"ip -4 -o route show table 200 10.31.0.0/16|unreachable 10.31.0.0/16",
	"ip -4 -o route show table main 10.32.0.0/16|prohibit 10.32.0.0/16",
	"ip -4 -o route show table 300 10.40.0.0/16|10.40.0.0/16 \\	nexthop via 10.9.0.253 dev zv0 weight 2 \\	nexthop via 10.9.1.253 dev zv1 weight 1",
	"ip -4 -o route show table local 10.60.0.0/24|local 10.60.0.0/24 dev lo scope host",
	"ip -4 -o route show table 70000 10.70.0.0/16|10.70.0.0/16 dev zv1 proto static scope link",
	"ip -6 -o route show table 100 fd00:20::/48|fd00:20::/48 via fd00:9::fe dev zv0 metric 1024 pref medium",
	"ip -6 -o route show table 200 fd00:40::/48|fd00:40::/48 dev zv1 metric 33 pref high",
};

static void check_one(const char *spec)
{
	char cmd[256], want[512], *out;
	const char *bar = strchr(spec, '|');

	snprintf(cmd, sizeof(cmd), "%.*s", (int)(bar - spec), spec);
	snprintf(want, sizeof(want), "%s\n", bar + 1);
	out = net_capture(cmd);
	/* ip prints a trailing space before the newline on some routes */
	for (char *p = out; (p = strstr(p, " \n"));)
		memmove(p, p + 1, strlen(p));
	for (char *p = out; (p = strstr(p, " \\"));)
		memmove(p, p + 1, strlen(p));
	for (char *p = want; (p = strstr(p, " \\"));)
		memmove(p, p + 1, strlen(p));
	if (strcmp(out, want))
		fail("'%s' prints '%s', expected '%s'", cmd, out, want);
	free(out);
}

int main(int argc, char **argv)
{
	char *before;

	test_init(argc, argv);
	net_need_own_ns();
	net_run("ip link add zv0 type veth peer name zv1 && ip link set zv0 up && ip link set zv1 up && "
		"ip addr add 10.9.0.1/24 dev zv0 && ip addr add 10.9.1.1/24 dev zv1 && "
		"ip -6 addr add fd00:9::1/64 dev zv0 nodad && ip -6 addr add fd00:a::1/64 dev zv1 nodad && "
		"ip route add 10.20.0.0/16 via 10.9.0.254 dev zv0 table 100 && "
		"ip route add default via 10.9.1.254 table 100 metric 7 && "
		"ip route add 10.21.0.0/16 dev zv1 table 200 mtu 1300 advmss 1200 && "
		"ip route add blackhole 10.30.0.0/16 table 200 && "
		"ip route add unreachable 10.31.0.0/16 table 200 && "
		"ip route add prohibit 10.32.0.0/16 && "
		"ip route add throw 10.33.0.0/16 table 100 && "
		"ip route add 10.40.0.0/16 table 300 nexthop via 10.9.0.253 dev zv0 weight 2 "
		"nexthop via 10.9.1.253 dev zv1 weight 1 && "
		"ip route add 10.50.0.0/16 via 192.168.200.1 dev zv0 onlink table 100 && "
		"ip route add local 10.60.0.0/24 dev lo table local && "
		"ip route add 10.70.0.0/16 dev zv1 table 70000 proto static && "
		"ip -6 route add fd00:20::/48 via fd00:9::fe dev zv0 table 100 && "
		"ip -6 route add blackhole fd00:30::/48 table 200 && "
		"ip -6 route add fd00:40::/48 dev zv1 table 200 pref high metric 33 && "
		"ip -6 route add fd00:41::/48 table 300 nexthop via fd00:9::fd dev zv0 nexthop via fd00:a::fd dev zv1");
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		check_one(expect[i]);
	net_settle();
	before = net_capture(ROUTES);

	test_daemon();
	test_waitsig();
	net_settle();
	net_compare_cmd(before, ROUTES);
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		check_one(expect[i]);
	pass();
}
