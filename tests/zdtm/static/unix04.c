// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Shutdown states of AF_UNIX stream sockets: pair A (a shut down for
 * writing after sending 100 bytes) and pair B (c shut down for reading).
 * After C/R: b reads the 100 bytes then EOF, a cannot write (EPIPE) but can
 * still read; c reads EOF at once and d's writes to it fail with EPIPE,
 * while c can still write to d.
 */
#include <sys/socket.h>
#include "fdutil.h"

int main(int argc, char **argv)
{
	int pa[2], pb[2];
	char c;

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, pa) || socketpair(AF_UNIX, SOCK_STREAM, 0, pb))
		fail("socketpair");
	write_pattern(pa[0], 100, 1, "a->b");
	if (shutdown(pa[0], SHUT_WR) || shutdown(pb[0], SHUT_RD))
		fail("shutdown");

	test_daemon();
	test_waitsig();

	read_pattern(pa[1], 100, 1, "b reads");
	if (recv(pa[1], &c, 1, MSG_DONTWAIT) != 0)
		fail("b: no EOF after the data (SHUT_WR lost)");
	if (send(pa[0], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != -1 || errno != EPIPE)
		fail("a can still write after SHUT_WR");
	if (send(pa[1], "yz", 2, MSG_NOSIGNAL) != 2)
		fail("b cannot write to a");
	if (recv(pa[0], &c, 1, 0) != 1 || c != 'y')
		fail("a cannot read after SHUT_WR");

	if (recv(pb[0], &c, 1, MSG_DONTWAIT) != 0)
		fail("c: read does not return EOF (SHUT_RD lost)");
	if (send(pb[1], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != -1 || errno != EPIPE)
		fail("d can still write to c after c's SHUT_RD");
	if (send(pb[0], "q", 1, MSG_NOSIGNAL) != 1)
		fail("c cannot write");
	if (recv(pb[1], &c, 1, 0) != 1 || c != 'q')
		fail("d cannot read from c");
	if (recv(pb[1], &c, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
		fail("d sees EOF or data, c did not shut down writing");
	pass();
}
