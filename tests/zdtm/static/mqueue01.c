// SPDX-License-Identifier: LGPL-2.1-or-later
/* mqueue01: a descriptor of a POSIX message queue comes back on the same
 * queue with its flags, whether the queue lives in lxc-cr's IPC namespace
 * (it stays there through the dump, like a file) or in the tree's own (it
 * is saved with its messages); the messages are all there, in order. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NMSG 5

int main(int argc, char **argv)
{
	struct mq_attr a = { .mq_maxmsg = NMSG, .mq_msgsize = 64 };
	char name[64], buf[64], want[64];
	mqd_t q;
	int fl;

	test_init(argc, argv);
	/* the pid stays across the restore; unique among the host's queues */
	snprintf(name, sizeof(name), "/zdtm-mq01-%d", getpid());
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &a);
	if (q < 0)
		fail("mq_open %s: %s", name, strerror(errno));
	for (int i = 0; i < NMSG; i++) {
		int n = snprintf(buf, sizeof(buf), "message %d of %s", i, name);

		if (mq_send(q, buf, n, i % 2) < 0)
			fail("mq_send: %s", strerror(errno));
	}
	test_daemon();
	test_waitsig();
	fl = fcntl(q, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR || !(fl & O_NONBLOCK))
		fail("%s: descriptor flags 0%o, expected read-write and non-blocking", name, fl);
	for (int k = 0; k < NMSG; k++) {
		/* odd ones (priority 1) first */
		int i = k < NMSG / 2 ? 2 * k + 1 : 2 * (k - NMSG / 2);
		unsigned prio;
		ssize_t r = mq_receive(q, buf, sizeof(buf), &prio);
		int n = snprintf(want, sizeof(want), "message %d of %s", i, name);

		if (r < 0)
			fail("%s: message %d is gone: %s", name, k, strerror(errno));
		if (r != n || memcmp(buf, want, n) || prio != (unsigned)(i % 2))
			fail("%s: message %d is '%.*s' (priority %u), expected '%s'", name, k, (int)r, buf, prio,
			     want);
	}
	if (mq_receive(q, buf, sizeof(buf), NULL) >= 0 || errno != EAGAIN)
		fail("%s: more messages than sent", name);
	mq_unlink(name);
	pass();
}
