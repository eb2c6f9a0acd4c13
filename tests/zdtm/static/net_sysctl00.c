// SPDX-License-Identifier: LGPL-2.1-or-later
/* net_sysctl00: sysctls under /proc/sys/net that a container changes, set
 * away from their defaults: globals (ip_forward, ip_local_port_range,
 * ping_group_range, per-namespace tcp settings, somaxconn...), conf/all,
 * conf/default and per-link ipv4/ipv6 conf (forwarding, rp_filter,
 * accept_ra, disable_ipv6...). After restore each reads back what was
 * written, and every file under ipv4/conf and ipv6/conf reads as before. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <unistd.h>

#include "netutil.h"

static const struct {
	const char *name, *value;	/* value as written; as read, blanks are tabs */
} sc[] = {
	{ "ipv4/ip_forward", "1" },
	{ "ipv4/ip_local_port_range", "20000 40000" },
	{ "ipv4/ping_group_range", "0 2000" },
	{ "ipv4/ip_default_ttl", "32" },
	{ "ipv4/ip_nonlocal_bind", "1" },
	{ "ipv4/ip_unprivileged_port_start", "512" },
	{ "ipv4/icmp_echo_ignore_all", "1" },
	{ "ipv4/tcp_syncookies", "2" },
	{ "ipv4/tcp_timestamps", "0" },
	{ "ipv4/tcp_sack", "0" },
	{ "ipv4/tcp_ecn", "1" },
	{ "ipv4/tcp_keepalive_time", "600" },
	{ "ipv4/tcp_keepalive_intvl", "30" },
	{ "ipv4/tcp_keepalive_probes", "4" },
	{ "ipv4/tcp_fin_timeout", "20" },
	{ "ipv4/tcp_tw_reuse", "1" },
	{ "ipv4/tcp_max_syn_backlog", "300" },
	{ "ipv4/tcp_rmem", "4096 65536 1048576" },
	{ "ipv6/bindv6only", "1" },
	{ "core/somaxconn", "1000" },
	{ "unix/max_dgram_qlen", "20" },
	{ "ipv4/conf/all/rp_filter", "1" },
	{ "ipv4/conf/all/accept_redirects", "0" },
	{ "ipv6/conf/all/accept_redirects", "0" },
	{ "ipv4/conf/default/arp_announce", "2" },
	{ "ipv6/conf/default/use_tempaddr", "2" },
	{ "ipv4/conf/zv0/rp_filter", "2" },
	{ "ipv4/conf/zv0/proxy_arp", "1" },
	{ "ipv4/conf/zv0/arp_ignore", "1" },
	{ "ipv4/conf/zv0/route_localnet", "1" },
	{ "ipv4/conf/zv1/forwarding", "0" },
	{ "ipv6/conf/zv0/accept_ra", "2" },
	{ "ipv6/conf/zv0/hop_limit", "32" },
	{ "ipv6/conf/zv1/disable_ipv6", "1" },
	{ "ipv6/conf/zv0/forwarding", "1" },
	{ "ipv6/conf/zv0/accept_dad", "0" },
};
#define NR (sizeof(sc) / sizeof(sc[0]))

#define CONF "cd /proc/sys/net && grep -r . ipv4/conf ipv6/conf 2>/dev/null | grep -v -e /stable_secret: -e /mc_forwarding:"

static void set(const char *name, const char *value)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		fail("cannot write '%s' to %s", value, path);
	close(fd);
}

static void check(void)
{
	for (size_t i = 0; i < NR; i++) {
		char path[256], got[256], want[256];

		snprintf(path, sizeof(path), "/proc/sys/net/%s", sc[i].name);
		net_read_line(path, got, sizeof(got));
		snprintf(want, sizeof(want), "%s", sc[i].value);
		for (char *p = want; *p; p++)
			if (*p == ' ')
				*p = '\t';
		if (strcmp(got, want))
			fail("%s reads '%s', '%s' was written", path, got, want);
	}
}

int main(int argc, char **argv)
{
	char *before;

	test_init(argc, argv);
	net_need_own_ns();
	net_run("ip link add zv0 type veth peer name zv1 && ip link set zv0 up && ip link set zv1 up && "
		"ip addr add 10.9.0.1/24 dev zv0 && ip -6 addr add fd00:9::1/64 dev zv0 nodad");
	for (size_t i = 0; i < NR; i++)
		set(sc[i].name, sc[i].value);
	check();
	before = net_capture(CONF);

	test_daemon();
	test_waitsig();
	check();
	net_compare_cmd(before, CONF);
	pass();
}
