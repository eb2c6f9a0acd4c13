// SPDX-License-Identifier: LGPL-2.1-or-later
/* net_macvlan00: macvlan devices whose lower links are on the host (two veth
 * pairs the test makes there, zmlPID/zmlPIDp and zmqPID/zmqPIDp): mv0 in
 * bridge mode with its own MAC, MTU, IPv4/IPv6 addresses and a route, mv1
 * private and down, mv2 vepa, mv3 passthru nopromisc on the second lower
 * link. The restore re-creates them on the same host links (they keep their
 * names: nothing to say with --external macvlan[IN]:HOSTDEV). After restore
 * every value is checked one by one, `ip -d link` shows the same, and mv0
 * still reaches an address of the host side through its lower link.
 * The test removes its host links before it exits. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netutil.h"

static struct stat host_ns;
static char lower1[16], lower2[16];

/* A descriptor of the host's network namespace (we are in our own), or -1. */
static int open_host_ns_quiet(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int fd = -1;

	while (d && (e = readdir(d))) {
		char path[64];
		struct stat st;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.16s/ns/net", e->d_name);
		if (stat(path, &st) < 0 || st.st_ino != host_ns.st_ino || st.st_dev != host_ns.st_dev)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			break;
	}
	if (d)
		closedir(d);
	return fd;
}

static int open_host_ns(void)
{
	int fd = open_host_ns_quiet();

	if (fd < 0)
		fail("cannot find the host's network namespace");
	return fd;
}

/* Run cmd in the host's network namespace; own (not CLOEXEC) stays open in it. */
static void host_run(const char *cmd, int own)
{
	int host = open_host_ns(), self = own >= 0 ? own : open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (self < 0 || setns(host, CLONE_NEWNET) < 0)
		fail("cannot enter the host's network namespace");
	net_run(cmd);
	if (setns(self, CLONE_NEWNET) < 0)
		fail("cannot come back from the host's network namespace");
	close(host);
	if (own < 0)
		close(self);
}

/* at exit, also after a failure: the host links go (their macvlans with them) */
static void cleanup(void)
{
	int host = open_host_ns_quiet();
	char cmd[128];

	if (host < 0 || setns(host, CLONE_NEWNET) < 0)
		return;
	snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null; ip link del %s 2>/dev/null", lower1, lower2);
	if (system(cmd))
		return;
}

static const char *const expect[] = {
	/* link, what `ip -o link show LINK` must say */
	"mv0|link/ether 02:00:00:00:aa:01 ",
	"mv0| mtu 1400 ",
	"mv0|<BROADCAST,MULTICAST,UP,LOWER_UP>",
	"mv1|link/ether 02:00:00:00:aa:02 ",
	"mv1|<BROADCAST,MULTICAST> ",
	"mv1| state DOWN ",
	"mv2|link/ether 02:00:00:00:aa:03 ",
	"mv2| mtu 1500 ",
	"mv2|MULTICAST,UP",
	"mv3| mtu 1300 ",
	"mv3|MULTICAST,UP",
};

static void check(const char *lower2_mac)
{
	char *out;

	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		char cmd[128];
		const char *bar = strchr(expect[i], '|');

		snprintf(cmd, sizeof(cmd), "ip -o link show %.*s", (int)(bar - expect[i]), expect[i]);
		out = net_capture(cmd);
		if (!strstr(out, bar + 1))
			fail("'%s' prints '%s', without '%s'", cmd, out, bar + 1);
		free(out);
	}
	out = net_capture("ip -d -o link show mv0 | grep -o 'macvlan mode [a-z]*'; "
			  "ip -d -o link show mv1 | grep -o 'macvlan mode [a-z]*'; "
			  "ip -d -o link show mv2 | grep -o 'macvlan mode [a-z]*'; "
			  "ip -d -o link show mv3 | grep -o 'macvlan mode [a-z]* [a-z]*'");
	if (strcmp(out, "macvlan mode bridge\nmacvlan mode passthru nopromisc\nmacvlan mode private\nmacvlan mode vepa\n"))
		fail("macvlan modes are:\n%s", out);
	free(out);
	out = net_capture("ip -o addr show dev mv0 | awk '{print $4}'");
	if (strcmp(out, "10.8.0.2/24\nfd00:8::2/64\nfe80::ff:fe00:aa01/64\n"))
		fail("mv0 has addresses:\n%s", out);
	free(out);
	out = net_capture("ip -o route show dev mv0");
	if (!strstr(out, "10.88.0.0/16 via 10.8.0.1"))
		fail("the route via mv0 is gone: %s", out);
	free(out);
	/* the passthru macvlan takes its lower link's MAC */
	out = net_capture("ip -o link show mv3 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2");
	if (strncmp(out, lower2_mac, 17))
		fail("mv3 has MAC %s, its lower link %s", out, lower2_mac);
	free(out);
}

int main(int argc, char **argv)
{
	char cmd[1024], mac3[64], *before;
	int own;

	if (stat("/proc/self/ns/net", &host_ns) < 0) {
		perror("/proc/self/ns/net");
		return 1;
	}
	test_init(argc, argv);
	net_need_own_ns();
	{
		/* names unique on the host: our host pid */
		char buf[32];
		ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = '\0';
		snprintf(lower1, sizeof(lower1), "zml%.10s", buf);
		snprintf(lower2, sizeof(lower2), "zmq%.10s", buf);
	}
	own = open("/proc/self/ns/net", O_RDONLY);
	if (own < 0)
		fail("cannot open our network namespace");
	snprintf(cmd, sizeof(cmd),
		 "ip link add %s type veth peer name %sp && ip link set %s up && ip link set %sp up && "
		 "ip addr add 10.8.0.1/24 dev %sp && "
		 "ip link add %s type veth peer name %sp && ip link set %s up && "
		 "ip link add link %s name mv0 netns /proc/self/fd/%d type macvlan mode bridge && "
		 "ip link add link %s name mv1 netns /proc/self/fd/%d type macvlan mode private && "
		 "ip link add link %s name mv2 netns /proc/self/fd/%d type macvlan mode vepa && "
		 "ip link add link %s name mv3 netns /proc/self/fd/%d type macvlan mode passthru nopromisc",
		 lower1, lower1, lower1, lower1, lower1, lower2, lower2, lower2,
		 lower1, own, lower1, own, lower1, own, lower2, own);
	atexit(cleanup);
	host_run(cmd, own);
	close(own);
	{
		/* the lower link's MAC, read in the host's namespace */
		char path[160];

		snprintf(path, sizeof(path), "/tmp/zdtm-mac.%s", lower2);
		snprintf(cmd, sizeof(cmd), "ip -o link show %s | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2 > %s",
			 lower2, path);
		host_run(cmd, -1);
		net_read_line(path, mac3, sizeof(mac3));
		unlink(path);
	}
	net_run("ip link set mv0 address 02:00:00:00:aa:01 mtu 1400 up && "
		"ip link set mv1 address 02:00:00:00:aa:02 && "
		"ip link set mv2 address 02:00:00:00:aa:03 up && ip link set mv3 mtu 1300 up && "
		"ip addr add 10.8.0.2/24 dev mv0 && ip -6 addr add fd00:8::2/64 dev mv0 nodad && "
		"ip route add 10.88.0.0/16 via 10.8.0.1 dev mv0");
	check(mac3);
	net_run("busybox ping -c 1 -W 3 10.8.0.1 >/dev/null");
	before = net_capture("ip -d -o link show | sed 's/^[0-9]*: //'");

	test_daemon();
	test_waitsig();
	check(mac3);
	net_compare_cmd(before, "ip -d -o link show | sed 's/^[0-9]*: //'");
	if (system("busybox ping -c 1 -W 3 10.8.0.1 >/dev/null"))
		fail("mv0 does not reach 10.8.0.1 on its lower link after restore");
	pass();
}
