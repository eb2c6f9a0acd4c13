// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * TCP socket options on a listening socket and an unbound one: SO_REUSEADDR,
 * SO_KEEPALIVE with TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, TCP_NODELAY, SO_RCVBUF,
 * SO_SNDBUF, SO_LINGER, IP_TOS. After C/R every value reads back the same
 * and connections accepted later inherit them as before.
 */
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "fdutil.h"

struct opt {
	int level, name;
	const char *what;
	int set;
	int val[2];	/* read back before C/R, per socket */
};

static struct opt opts[] = {
	{ SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 1 },
	{ SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 1 },
	{ IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 77 },
	{ IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", 13 },
	{ IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 5 },
	{ IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 1 },
	{ SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", 65536 },
	{ SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", 40000 },
	{ IPPROTO_IP, IP_TOS, "IP_TOS", 0x10 },
};
#define NOPT (sizeof(opts) / sizeof(opts[0]))

static int get(int fd, const struct opt *o)
{
	int v = -1;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, o->level, o->name, &v, &l))
		fail("getsockopt %s", o->what);
	return v;
}

static void get_linger(int fd, struct linger *lg)
{
	socklen_t l = sizeof(*lg);

	if (getsockopt(fd, SOL_SOCKET, SO_LINGER, lg, &l))
		fail("SO_LINGER");
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct linger lg = { 1, 3 }, lg2[2];
	socklen_t l = sizeof(sin);
	int sk[2];

	test_init(argc, argv);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int s = 0; s < 2; s++) {
		sk[s] = socket(AF_INET, SOCK_STREAM, 0);
		if (sk[s] < 0)
			fail("socket");
		for (size_t i = 0; i < NOPT; i++) {
			int v = opts[i].set + s;	/* the two sockets differ */

			if (opts[i].name == IP_TOS)
				v = opts[i].set << s;
			if (setsockopt(sk[s], opts[i].level, opts[i].name, &v, sizeof(v)))
				fail("setsockopt %s", opts[i].what);
		}
		lg.l_linger = 3 + s;
		if (setsockopt(sk[s], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
			fail("SO_LINGER");
	}
	if (bind(sk[0], (void *)&sin, sizeof(sin)) || listen(sk[0], 4) ||
	    getsockname(sk[0], (void *)&sin, &l))
		fail("listen");
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < NOPT; i++)
			opts[i].val[s] = get(sk[s], &opts[i]);
		get_linger(sk[s], &lg2[s]);
	}

	test_daemon();
	test_waitsig();

	for (int s = 0; s < 2; s++) {
		struct linger now;

		for (size_t i = 0; i < NOPT; i++) {
			int v = get(sk[s], &opts[i]);

			if (v != opts[i].val[s])
				fail("socket %d: %s is %d, was %d", s, opts[i].what, v, opts[i].val[s]);
		}
		get_linger(sk[s], &now);
		if (now.l_onoff != lg2[s].l_onoff || now.l_linger != lg2[s].l_linger)
			fail("socket %d: SO_LINGER %d/%d, was %d/%d", s, now.l_onoff, now.l_linger,
			     lg2[s].l_onoff, lg2[s].l_linger);
	}
	/* the unbound socket can still connect; the accepted one inherits options */
	if (connect(sk[1], (void *)&sin, sizeof(sin)))
		fail("connect");
	{
		int a = accept(sk[0], NULL, NULL);

		if (a < 0)
			fail("accept");
		if (get(a, &opts[1]) == 0)
			fail("accepted socket did not inherit SO_KEEPALIVE");
		if (get(a, &opts[2]) != opts[2].val[0])
			fail("accepted socket TCP_KEEPIDLE %d", get(a, &opts[2]));
		write_pattern(sk[1], 5000, 80, "data");
		read_pattern(a, 5000, 80, "data");
	}
	pass();
}
