/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Network namespace tests: run ip(8) and take a sorted snapshot of what it shows. */
#ifndef ZDTM_NETUTIL_H
#define ZDTM_NETUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

static inline void net_need_own_ns(void)
{
	const char *v = getenv("ZDTM_NEWNS");

	if (!v || strcmp(v, "3") || getpid() != 1)
		skip("needs a network namespace of its own (run.sh --ns-net)");
}

static inline void net_run(const char *cmd)
{
	if (system(cmd) != 0)
		fail("'%s' failed", cmd);
}

/* Links, addresses (words of each line sorted: the order of addresses may
 * differ), routes of the main table and the sysctls, as one string. */
static inline char *net_snapshot(void)
{
	static const char cmd[] =
		"{ ip -br link | sed 's/ \\+/ /g'; "
		"ip -br addr | while read n s a; do echo \"$n $s $(printf '%s\\n' $a | sort | tr '\\n' ' ')\"; done; "
		"ip route show table main; ip -6 route show table main; "
		"cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding "
		"/proc/sys/net/ipv4/conf/all/rp_filter; } 2>&1 | sort";
	FILE *f = popen(cmd, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	if (!f || !buf)
		fail("popen");
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	if (pclose(f) != 0)
		fail("'%s' failed", cmd);
	return buf;
}

/* Wait (at most 5 s) until no IPv6 address is tentative: the kernel adds the
 * local route of an address (a link-local one too) once its duplicate address
 * detection is over, a second after the link came up. */
static inline void net_settle(void)
{
	for (int i = 0; i < 100; i++) {
		FILE *f = popen("ip -6 addr show tentative 2>/dev/null", "r");
		char buf[256];
		size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;

		if (f)
			pclose(f);
		if (!n)
			return;
		usleep(50000);
	}
	fail("IPv6 addresses are still tentative after 5 s");
}

/* The output of a shell command, its lines sorted. */
static inline char *net_capture(const char *what)
{
	char *cmd = malloc(strlen(what) + 32);
	FILE *f;
	char *buf = calloc(1, 262144);
	size_t n;

	if (!cmd || !buf)
		fail("malloc");
	sprintf(cmd, "{ %s; } 2>&1 | sort", what);
	f = popen(cmd, "r");
	if (!f)
		fail("popen");
	n = fread(buf, 1, 262143, f);
	buf[n] = '\0';
	if (pclose(f) != 0)
		fail("'%s' failed", cmd);
	free(cmd);
	/* ip ends some lines with a blank */
	for (char *p = buf; (p = strstr(p, " \n"));)
		memmove(p, p + 1, strlen(p));
	return buf;
}

static inline void net_compare_cmd(const char *before, const char *what)
{
	char *after = net_capture(what);

	if (strcmp(before, after)) {
		test_msg("'%s' before:\n%s", what, before);
		test_msg("'%s' after:\n%s", what, after);
		fail("'%s' shows something else after restore", what);
	}
	free(after);
}

/* The first line of a file, without its newline. */
static inline void net_read_line(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(out, size, f))
		fail("cannot read %s", path);
	out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

static inline void net_compare(const char *before)
{
	char *after = net_snapshot();

	if (strcmp(before, after)) {
		test_msg("before:\n%s", before);
		test_msg("after:\n%s", after);
		fail("the network namespace changed");
	}
	free(after);
}

#endif
