// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test-netns (TAP): net_validate() on the network part of ns.img. A complete
 * valid entry (lo, a veth pair inside, an external veth, macvlans on a host
 * link and on an inner one, addresses, routes with metrics and next hops,
 * rules, neighbours, sysctls) is accepted; then each field that restore uses
 * as a size, count, index, name or path is damaged in turn, and every damaged
 * entry must be refused with a line naming the object.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "cr.h"
#include "ns/net.h"

static int n, failed;

static void ok(int cond, const char *what, const char *detail)
{
	n++;
	if (cond) {
		printf("ok %d - %s\n", n, what);
	} else {
		failed++;
		printf("not ok %d - %s%s%s\n", n, what, detail ? ": " : "", detail ? detail : "");
	}
}

static uint8_t v4a[4] = { 10, 9, 0, 1 }, v4b[4] = { 10, 9, 0, 254 }, bad5[5];
static uint8_t v6a[16] = { 0xfd, 0, 0, 9, [15] = 1 };
static uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
static uint32_t prio = 100, table = 100, metrics[] = { RTAX_MTU, 1300, RTAX_ADVMSS, 1200 };
static char iif[] = "zv1";

static NetAddr a4, a6, *addrs[] = { &a4, &a6 };
static NetLink lo, zv0, zv1, eth0, mv0, mv1;
static NetLink *links[] = { &lo, &zv0, &zv1, &eth0, &mv0, &mv1 };
static NetNexthop nh1, nh2, *nhs[] = { &nh1, &nh2 };
static NetRoute r1, r2, *routes[] = { &r1, &r2 };
static NetRuleAttr ra1, ra2, ra3, *rattrs[] = { &ra1, &ra2, &ra3 };
static NetRule rule, *rules[] = { &rule };
static NetNeigh ne, *neighs[] = { &ne };
static NetSysctl s1, s2, s3, *sysctls[] = { &s1, &s2, &s3 };
static NetnsEntry e;

static void bin(ProtobufCBinaryData *b, void *data, size_t len)
{
	b->data = data;
	b->len = len;
}

static void build(void)
{
	netns_entry__init(&e);
	net_addr__init(&a4);
	a4.family = AF_INET;
	bin(&a4.addr, v4a, 4);
	a4.prefixlen = 24;
	net_addr__init(&a6);
	a6.family = AF_INET6;
	bin(&a6.addr, v6a, 16);
	a6.prefixlen = 64;
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		net_link__init(links[i]);
	lo.name = "lo";
	lo.kind = "lo";
	zv0.name = "zv0";
	zv0.kind = "veth";
	zv0.peer = "zv1";
	zv0.has_mac = true;
	bin(&zv0.mac, mac, 6);
	zv0.n_addrs = 2;
	zv0.addrs = addrs;
	zv1.name = "zv1";
	zv1.kind = "veth";
	zv1.peer = "zv0";
	eth0.name = "eth0";
	eth0.kind = "veth";
	eth0.ext_name = "vnet7";
	eth0.ext_master = "virbr0";
	mv0.name = "mv0";
	mv0.kind = "macvlan";
	mv0.lower = "eth1";
	mv0.has_macvlan_mode = true;
	mv0.macvlan_mode = MACVLAN_MODE_BRIDGE;
	mv1.name = "mv1";
	mv1.kind = "macvlan";
	mv1.lower = "zv0";
	mv1.has_lower_inside = mv1.lower_inside = true;
	mv1.has_macvlan_mode = true;
	mv1.macvlan_mode = MACVLAN_MODE_PASSTHRU;
	mv1.has_macvlan_flags = true;
	mv1.macvlan_flags = MACVLAN_FLAG_NOPROMISC;
	e.n_links = sizeof(links) / sizeof(links[0]);
	e.links = links;

	net_nexthop__init(&nh1);
	nh1.has_gateway = true;
	bin(&nh1.gateway, v4b, 4);
	nh1.oif = "zv0";
	net_nexthop__init(&nh2);
	nh2.oif = "zv1";
	net_route__init(&r1);
	r1.family = AF_INET;
	r1.has_dst = true;
	bin(&r1.dst, v4a, 4);
	r1.dst_len = 16;
	r1.has_gateway = true;
	bin(&r1.gateway, v4b, 4);
	r1.oif = "zv0";
	r1.type = RTN_UNICAST;
	r1.has_table = true;
	r1.table = 70000;
	r1.n_metrics = 4;
	r1.metrics = metrics;
	net_route__init(&r2);
	r2.family = AF_INET;
	r2.type = RTN_UNICAST;
	r2.n_nexthops = 2;
	r2.nexthops = nhs;
	e.n_routes = 2;
	e.routes = routes;

	net_rule_attr__init(&ra1);
	ra1.type = FRA_PRIORITY;
	bin(&ra1.value, &prio, 4);
	net_rule_attr__init(&ra2);
	ra2.type = FRA_TABLE;
	bin(&ra2.value, &table, 4);
	net_rule_attr__init(&ra3);
	ra3.type = FRA_IIFNAME;
	bin(&ra3.value, iif, sizeof(iif));
	net_rule__init(&rule);
	rule.family = AF_INET;
	rule.action = FR_ACT_TO_TBL;
	rule.n_attrs = 3;
	rule.attrs = rattrs;
	e.n_rules = 1;
	e.rules = rules;

	net_neigh__init(&ne);
	ne.family = AF_INET6;
	ne.link = "zv0";
	bin(&ne.dst, v6a, 16);
	ne.has_lladdr = true;
	bin(&ne.lladdr, mac, 6);
	ne.flags = NTF_ROUTER;
	e.n_neighs = 1;
	e.neighs = neighs;

	net_sysctl__init(&s1);
	s1.name = "ipv4/ip_local_port_range";
	s1.value = "20000\t40000";
	net_sysctl__init(&s2);
	s2.name = "ipv6/conf/zv0/disable_ipv6";
	s2.value = "1";
	net_sysctl__init(&s3);
	s3.name = "ipv4/conf/all/rp_filter";
	s3.value = "2";
	e.n_sysctls = 3;
	e.sysctls = sysctls;
}

/* Damage a fresh entry, expect a refusal whose line holds want. */
#define REFUSED(what, want, damage)                                                        \
	do {                                                                               \
		build();                                                                   \
		damage;                                                                    \
		log_clear_error();                                                         \
		int r_ = net_validate(&e);                                                 \
		const char *m_ = log_last_error();                                         \
		ok(r_ == -EINVAL && m_ && strstr(m_, want), what, m_ ? m_ : "accepted");   \
	} while (0)

int main(void)
{
	static char longname[] = "a-name-too-long-for-a-link";
	static char val[300];
	static uint16_t two;
	int r;

	crc_log_init(NULL, 0);
	printf("1..31\n");
	build();
	r = net_validate(&e);
	ok(r == 0, "a complete entry is accepted", log_last_error());

	REFUSED("a link name longer than IFNAMSIZ", "is invalid", zv1.name = longname; zv0.peer = longname);
	REFUSED("a link name with a slash", "'z/1' is invalid", mv0.name = "z/1");
	REFUSED("a link there twice", "'zv0' is there twice", mv0.name = "zv0");
	REFUSED("an unknown kind", "'zv0' is invalid", zv0.kind = "vxlan");
	REFUSED("a peer not in the image", "'zv0' is invalid", zv0.peer = "nope");
	REFUSED("a MAC of 33 bytes", "'zv0' is invalid", zv0.mac.len = 33);
	REFUSED("an IPv4 address of 5 bytes", "address of link 'zv0'", bin(&a4.addr, bad5, 5));
	REFUSED("an IPv4 prefix of 33", "address of link 'zv0'", a4.prefixlen = 33);
	REFUSED("a host end name too long", "'eth0' is invalid", eth0.ext_name = longname);
	REFUSED("a macvlan without lower link", "'mv0' is invalid", mv0.lower = NULL);
	REFUSED("a macvlan mode 99", "'mv0' is invalid", mv0.macvlan_mode = 99);
	REFUSED("macvlan flags 0x80", "'mv1' is invalid", mv1.macvlan_flags = 0x80);
	REFUSED("a macvlan on an inner link not in the image", "'mv1' is invalid", mv1.lower = "zz9");
	REFUSED("a route with a 5-byte destination", "route 0", bin(&r1.dst, bad5, 5));
	REFUSED("a route via a link not in the image", "route 0", r1.oif = "nope");
	REFUSED("a route of type 42", "route 0", r1.type = 42);
	REFUSED("a route with an odd number of metric words", "route 0", r1.n_metrics = 3);
	REFUSED("a route with metric RTAX_CC_ALGO", "route 0", metrics[2] = RTAX_CC_ALGO);
	metrics[2] = RTAX_ADVMSS;
	REFUSED("a route with 33 next hops", "route 1", r2.n_nexthops = 33);
	REFUSED("a next hop on a link not in the image", "route 1", nh2.oif = "nope");
	REFUSED("a rule attribute of the wrong size", "rule 0", bin(&ra1.value, &two, 2));
	REFUSED("a rule attribute of unknown type", "rule 0", ra2.type = 200);
	REFUSED("a rule link name without its NUL", "rule 0", bin(&ra3.value, iif, 3));
	REFUSED("a neighbour on a link not in the image", "neighbour 0", ne.link = "nope");
	REFUSED("a sysctl outside the list", "'kernel/core_pattern' is invalid", s1.name = "kernel/core_pattern");
	REFUSED("a sysctl path going up", "is invalid", s2.name = "ipv6/conf/../disable_ipv6");
	REFUSED("a sysctl of a link not in the image", "'ipv6/conf/nope/disable_ipv6' is invalid",
		s2.name = "ipv6/conf/nope/disable_ipv6");
	memset(val, '1', sizeof(val) - 1);
	REFUSED("a sysctl value of 299 bytes", "'ipv4/conf/all/rp_filter' is invalid", s3.value = val);
	REFUSED("a sysctl value with a newline", "'ipv4/conf/all/rp_filter' is invalid", s3.value = "1\n2");
	REFUSED("2000 links", "more links", e.n_links = 2000);
	return failed ? 1 : 0;
}
