// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An unconnected AF_UNIX datagram socket bound to a path, with datagrams
 * queued from two senders: one bound to a path, one unbound. After C/R
 * recvfrom gives the same datagrams in order, each with its sender's
 * address, and both senders can still send to it.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include "fdutil.h"

#define RNAME "unix02.rcv"
#define SNAME "unix02.snd"

static socklen_t mkaddr(struct sockaddr_un *sun, const char *name)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, name);
	return offsetof(struct sockaddr_un, sun_path) + strlen(name) + 1;
}

struct dg {
	int from;	/* 0: bound sender, 1: unbound */
	size_t len;
};

static const struct dg dgs[] = { { 0, 100 }, { 1, 200 }, { 0, 3000 }, { 1, 1 }, { 0, 50 } };
#define N (sizeof(dgs) / sizeof(dgs[0]))

int main(int argc, char **argv)
{
	struct sockaddr_un rsun, ssun;
	socklen_t rl = mkaddr(&rsun, RNAME), sl = mkaddr(&ssun, SNAME);
	int rcv, snd[2];
	char buf[4096];

	test_init(argc, argv);
	unlink(RNAME);
	unlink(SNAME);
	rcv = socket(AF_UNIX, SOCK_DGRAM, 0);
	snd[0] = socket(AF_UNIX, SOCK_DGRAM, 0);
	snd[1] = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (rcv < 0 || snd[0] < 0 || snd[1] < 0)
		fail("socket");
	if (bind(rcv, (void *)&rsun, rl) || bind(snd[0], (void *)&ssun, sl))
		fail("bind");
	for (size_t i = 0; i < N; i++) {
		datagen(buf, dgs[i].len, 500 + i);
		if (sendto(snd[dgs[i].from], buf, dgs[i].len, 0, (void *)&rsun, rl) != (ssize_t)dgs[i].len)
			fail("sendto");
	}

	test_daemon();
	test_waitsig();

	for (size_t i = 0; i < N + 2; i++) {
		struct sockaddr_un from;
		socklen_t fl = sizeof(from);
		size_t len = i < N ? dgs[i].len : 10;
		int who = i < N ? dgs[i].from : (int)(i - N);
		ssize_t r = recvfrom(rcv, buf, sizeof(buf), MSG_DONTWAIT, (void *)&from, &fl);

		if (r != (ssize_t)len || datachk(buf, len, 500 + i))
			fail("datagram %zu: %zd bytes, want %zu / contents", i, r, len);
		if (who == 0 && (fl != sl || strcmp(from.sun_path, SNAME)))
			fail("datagram %zu: sender '%s' (len %u), want " SNAME, i, from.sun_path, fl);
		if (who == 1 && fl != 0)
			fail("datagram %zu: unbound sender has an address (len %u)", i, fl);
		if (i == N - 1) {
			check_drained(rcv, "receiver");
			/* both senders still work after C/R */
			for (int s = 0; s < 2; s++) {
				datagen(buf, 10, 500 + N + s);
				if (sendto(snd[s], buf, 10, 0, (void *)&rsun, rl) != 10)
					fail("sendto after restore");
			}
		}
	}
	{
		struct sockaddr_un got;
		socklen_t gl = sizeof(got);

		if (getsockname(rcv, (void *)&got, &gl) || gl != rl || strcmp(got.sun_path, RNAME))
			fail("receiver name");
		if (getpeername(rcv, (void *)&got, &gl) != -1 || errno != ENOTCONN)
			fail("receiver became connected");
	}
	pass();
}
