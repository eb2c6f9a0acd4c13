// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A listening AF_UNIX stream socket bound to a path in the cwd, one accepted
 * connection with data queued both ways, and one connection still waiting in
 * the backlog with data already sent. After C/R the names, the queued data
 * and the pending connection are there, and new clients can connect.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include "fdutil.h"

#define SNAME "unix00.sock"

static socklen_t addr(struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, SNAME);
	return offsetof(struct sockaddr_un, sun_path) + sizeof(SNAME);
}

static void check_name(int fd, bool peer, const char *what)
{
	struct sockaddr_un sun;
	socklen_t l = sizeof(sun);
	int r = peer ? getpeername(fd, (void *)&sun, &l) : getsockname(fd, (void *)&sun, &l);

	if (r)
		fail("%s: get%sname", what, peer ? "peer" : "sock");
	if (l != offsetof(struct sockaddr_un, sun_path) + sizeof(SNAME) || strcmp(sun.sun_path, SNAME))
		fail("%s: name '%.*s' (len %u)", what, (int)(l - offsetof(struct sockaddr_un, sun_path)),
		     sun.sun_path, l);
}

static int connect_to(void)
{
	struct sockaddr_un sun;
	socklen_t l = addr(&sun);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (void *)&sun, l))
		fail("connect to " SNAME);
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sun;
	socklen_t l = addr(&sun);
	int lsk, cli, srv, pend, v;
	socklen_t vl = sizeof(v);
	struct stat st;

	test_init(argc, argv);
	unlink(SNAME);
	lsk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lsk < 0 || bind(lsk, (void *)&sun, l) || listen(lsk, 8))
		fail("listen on " SNAME);
	cli = connect_to();
	srv = accept(lsk, NULL, NULL);
	if (srv < 0)
		fail("accept");
	write_pattern(cli, 3000, 1, "cli->srv");
	write_pattern(srv, 4000, 2, "srv->cli");
	pend = connect_to();
	write_pattern(pend, 300, 3, "pending->");

	test_daemon();
	test_waitsig();

	if (getsockopt(lsk, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) || v != 1)
		fail("listener is not listening");
	if (stat(SNAME, &st) || !S_ISSOCK(st.st_mode))
		fail(SNAME " is not a socket node");
	check_name(lsk, false, "listener");
	check_name(srv, false, "accepted");
	check_name(cli, true, "client peer");
	check_name(pend, true, "pending client peer");
	read_pattern(srv, 3000, 1, "srv reads");
	read_pattern(cli, 4000, 2, "cli reads");
	check_drained(srv, "srv");
	check_drained(cli, "cli");

	/* the connection that was in the backlog */
	fcntl(lsk, F_SETFL, O_NONBLOCK);
	{
		int a = accept(lsk, NULL, NULL);

		if (a < 0)
			fail("pending connection lost from the backlog");
		read_pattern(a, 300, 3, "pending data");
		write_pattern(a, 10, 4, "to pending");
		read_pattern(pend, 10, 4, "pending reads");
		if (accept(lsk, NULL, NULL) != -1 || errno != EAGAIN)
			fail("extra connection in the backlog");
	}
	/* a new client */
	{
		int c = connect_to(), a = accept(lsk, NULL, NULL);

		if (a < 0)
			fail("accept new client");
		write_pattern(c, 5000, 5, "new");
		read_pattern(a, 5000, 5, "new");
	}
	write_pattern(cli, 100, 6, "old pair");
	read_pattern(srv, 100, 6, "old pair");
	pass();
}
