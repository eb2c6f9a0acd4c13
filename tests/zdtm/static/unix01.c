// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Abstract-namespace AF_UNIX: a listening socket, a connected client with
 * queued data and its accepted peer, and a client bound to its own abstract
 * name. After C/R the names (with their exact lengths) are the same and a
 * new client can connect by name.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include "fdutil.h"

static socklen_t mkname(struct sockaddr_un *sun, const char *tag)
{
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1, "zdtm-unix01-%s-%d", tag, getpid());
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static void check_name(int fd, bool peer, const char *tag, const char *what)
{
	struct sockaddr_un want, got;
	socklen_t wl = mkname(&want, tag), gl = sizeof(got);
	int r = peer ? getpeername(fd, (void *)&got, &gl) : getsockname(fd, (void *)&got, &gl);

	if (r || gl != wl || memcmp(&got, &want, wl))
		fail("%s: name differs (len %u, want %u: '%s')", what, gl, wl, want.sun_path + 1);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sun, csun;
	socklen_t l, cl;
	int lsk, cli, srv;

	test_init(argc, argv);
	/* names depend on the pid: make them after daemonizing */
	l = mkname(&sun, "srv");
	cl = mkname(&csun, "cli");
	lsk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lsk < 0 || bind(lsk, (void *)&sun, l) || listen(lsk, 4))
		fail("listen");
	cli = socket(AF_UNIX, SOCK_STREAM, 0);
	if (cli < 0 || bind(cli, (void *)&csun, cl) || connect(cli, (void *)&sun, l))
		fail("connect");
	srv = accept(lsk, NULL, NULL);
	if (srv < 0)
		fail("accept");
	write_pattern(cli, 2000, 7, "cli->srv");
	write_pattern(srv, 1000, 8, "srv->cli");

	test_daemon();
	test_waitsig();

	check_name(lsk, false, "srv", "listener");
	check_name(srv, false, "srv", "accepted");
	check_name(cli, true, "srv", "client's peer");
	check_name(cli, false, "cli", "client");
	check_name(srv, true, "cli", "accepted's peer");
	read_pattern(srv, 2000, 7, "srv reads");
	read_pattern(cli, 1000, 8, "cli reads");
	check_drained(srv, "srv");
	check_drained(cli, "cli");
	{
		int c = socket(AF_UNIX, SOCK_STREAM, 0), a;

		if (c < 0 || connect(c, (void *)&sun, l))
			fail("connect after restore");
		a = accept(lsk, NULL, NULL);
		if (a < 0)
			fail("accept after restore");
		write_pattern(a, 50, 9, "new");
		read_pattern(c, 50, 9, "new");
	}
	/* the client's name is still taken */
	{
		int c = socket(AF_UNIX, SOCK_STREAM, 0);

		if (bind(c, (void *)&csun, cl) != -1 || errno != EADDRINUSE)
			fail("client's abstract name is free again");
	}
	pass();
}
