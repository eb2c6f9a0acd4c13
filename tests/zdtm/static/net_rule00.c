// SPDX-License-Identifier: LGPL-2.1-or-later
/* net_rule00: policy routing rules with every kind of selector (from, to,
 * iif, oif, tos, fwmark/mask, uid range, ip protocol, port ranges, not,
 * suppress_prefixlength), the actions lookup, goto, prohibit, blackhole and
 * unreachable, a table above 255, IPv4 and IPv6, and the default rule of
 * priority 32767 deleted: after restore `ip rule` shows exactly the same
 * rules, checked line by line against what was added. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <unistd.h>

#include "netutil.h"

#define RULES "ip -4 rule show; ip -6 rule show"

static const char want4[] =
	"0:\tfrom all lookup local\n"
	"100:\tfrom 10.9.0.0/24 lookup 100\n"
	"200:\tfrom all to 10.21.0.0/16 iif zv1 lookup 200\n"
	"300:\tfrom all fwmark 0x10/0xff lookup 300\n"
	"310:\tfrom all tos 0x10 oif zv0 lookup 100\n"
	"320:\tfrom all uidrange 1000-2000 ipproto tcp sport 1000 dport 80-90 lookup 200\n"
	"330:\tnot from 10.99.0.0/16 lookup main suppress_prefixlength 0\n"
	"340:\tfrom 10.98.0.0/16 prohibit\n"
	"350:\tfrom all to 10.97.0.0/16 blackhole\n"
	"360:\tfrom all goto 400\n"
	"400:\tfrom all lookup 70000\n"
	"32766:\tfrom all lookup main\n";
static const char want6[] =
	"0:\tfrom all lookup local\n"
	"100:\tfrom fd00:9::/64 lookup 100\n"
	"110:\tfrom all to fd00:20::/48 unreachable\n"
	"32766:\tfrom all lookup main\n";

static void check(const char *cmd, const char *want)
{
	FILE *f = popen(cmd, "r");
	char got[4096];
	size_t n;

	if (!f)
		fail("popen");
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	pclose(f);
	/* ip prints a trailing space on some lines */
	for (char *p = got; (p = strstr(p, " \n"));)
		memmove(p, p + 1, strlen(p));
	if (strcmp(got, want))
		fail("'%s' prints:\n%s\nexpected:\n%s", cmd, got, want);
}

int main(int argc, char **argv)
{
	char *before;

	test_init(argc, argv);
	net_need_own_ns();
	net_run("ip link add zv0 type veth peer name zv1 && ip link set zv0 up && ip link set zv1 up && "
		"ip addr add 10.9.0.1/24 dev zv0 && ip -6 addr add fd00:9::1/64 dev zv0 nodad && "
		"ip rule add from 10.9.0.0/24 table 100 priority 100 && "
		"ip rule add to 10.21.0.0/16 iif zv1 table 200 priority 200 && "
		"ip rule add fwmark 0x10/0xff table 300 priority 300 && "
		"ip rule add oif zv0 tos 0x10 lookup 100 priority 310 && "
		"ip rule add uidrange 1000-2000 ipproto tcp dport 80-90 sport 1000 table 200 priority 320 && "
		"ip rule add not from 10.99.0.0/16 suppress_prefixlength 0 table main priority 330 && "
		"ip rule add prohibit from 10.98.0.0/16 priority 340 && "
		"ip rule add blackhole to 10.97.0.0/16 priority 350 && "
		"ip rule add priority 360 goto 400 && ip rule add priority 400 table 70000 && "
		"ip rule del priority 32767 && "
		"ip -6 rule add from fd00:9::/64 table 100 priority 100 && "
		"ip -6 rule add to fd00:20::/48 unreachable priority 110");
	check("ip -4 rule show", want4);
	check("ip -6 rule show", want6);
	before = net_capture(RULES);

	test_daemon();
	test_waitsig();
	check("ip -4 rule show", want4);
	check("ip -6 rule show", want6);
	net_compare_cmd(before, RULES);
	pass();
}
