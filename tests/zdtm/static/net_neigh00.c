// SPDX-License-Identifier: LGPL-2.1-or-later
/* net_neigh00: permanent neighbour entries, IPv4 and IPv6 (one a router),
 * on two links, and proxy entries; after restore each is there with its
 * address, link-layer address, state and flags, and nothing else is
 * permanent or proxied. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <unistd.h>

#include "netutil.h"

#define NEIGH "ip -4 neigh show nud permanent; ip -6 neigh show nud permanent; " \
	"ip -4 neigh show proxy; ip -6 neigh show proxy"

static const char want[] =	/* sorted */
	"10.9.0.50 dev zv0 proxy\n"
	"10.9.0.7 dev zv0 lladdr 02:00:00:00:01:07 PERMANENT\n"
	"10.9.0.8 dev zv0 lladdr 02:00:00:00:01:08 PERMANENT\n"
	"10.9.1.9 dev zv1 lladdr 02:00:00:00:01:09 PERMANENT\n"
	"fd00:9::50 dev zv1 proxy\n"
	"fd00:9::7 dev zv0 lladdr 02:00:00:00:02:07 router PERMANENT\n"
	"fd00:9::8 dev zv0 lladdr 02:00:00:00:02:08 PERMANENT\n";

int main(int argc, char **argv)
{
	char *before;

	test_init(argc, argv);
	net_need_own_ns();
	net_run("ip link add zv0 type veth peer name zv1 && ip link set zv0 up && ip link set zv1 up && "
		"ip addr add 10.9.0.1/24 dev zv0 && ip addr add 10.9.1.1/24 dev zv1 && "
		"ip -6 addr add fd00:9::1/64 dev zv0 nodad && "
		"ip neigh add 10.9.0.7 lladdr 02:00:00:00:01:07 dev zv0 nud permanent && "
		"ip neigh add 10.9.0.8 lladdr 02:00:00:00:01:08 dev zv0 nud permanent && "
		"ip neigh add 10.9.1.9 lladdr 02:00:00:00:01:09 dev zv1 nud permanent && "
		"ip -6 neigh add fd00:9::7 lladdr 02:00:00:00:02:07 dev zv0 nud permanent router && "
		"ip -6 neigh add fd00:9::8 lladdr 02:00:00:00:02:08 dev zv0 nud permanent && "
		"ip neigh add proxy 10.9.0.50 dev zv0 && ip -6 neigh add proxy fd00:9::50 dev zv1");
	before = net_capture(NEIGH);
	if (strcmp(before, want))
		fail("before the dump, the permanent neighbours are:\n%s\nexpected:\n%s", before, want);

	test_daemon();
	test_waitsig();
	net_compare_cmd(want, NEIGH);
	pass();
}
