// SPDX-License-Identifier: LGPL-2.1-or-later
/* mqueue00: POSIX message queues of the tree's own IPC namespace keep their
 * names, modes, owners, attributes and every message with its priority, in
 * order; descriptors to them keep their flags and queue; the namespace's
 * mqueue sysctls stay. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

struct q {
	const char *name;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	long maxmsg, msgsize;
	int nmsg;
	unsigned prio[8];
	size_t len[8];
};

static const struct q qs[] = {
	{ "/zdtm-mq00-a", 0640, 1234, 5678, 8, 300, 7,
	  { 0, 5, 5, 2, 31000, 0, 5 }, { 300, 1, 0, 17, 255, 299, 64 } },
	{ "/zdtm-mq00-b", 0602, 0, 0, 3, 16, 0, { 0 }, { 0 } },
	/* above the namespace's defaults (msg_max 10, msgsize_max 8192) */
	{ "/zdtm-mq00-c", 0444, 42, 0, 20, 10000, 3, { 1, 1, 9 }, { 10000, 4096, 9999 } },
};
#define NQ (sizeof(qs) / sizeof(qs[0]))

static const struct {
	const char *name;
	long value;
} sysctls[] = {
	{ "msg_max", 32 }, { "msgsize_max", 20000 }, { "queues_max", 77 }, { "msg_default", 7 },
	{ "msgsize_default", 1000 },
};
#define NSYS (sizeof(sysctls) / sizeof(sysctls[0]))

static uint32_t seed(int q, int m)
{
	return 1000 + q * 37 + m;
}

static void set_sysctl(const char *name, long v)
{
	char path[80], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", name);
	fd = open(path, O_WRONLY);
	n = snprintf(buf, sizeof(buf), "%ld", v);
	if (fd < 0 || write(fd, buf, n) != n)
		fail("cannot set %s to %ld: %s", path, v, strerror(errno));
	close(fd);
}

static long get_sysctl(const char *name)
{
	char path[80], buf[32];
	long n;

	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", name);
	n = test_read_file(path, buf, sizeof(buf));
	if (n <= 0)
		fail("cannot read %s", path);
	return atol(buf);
}

/* Every message of queue i, in the order the queue must give them. */
static void check_queue(int i, mqd_t fd)
{
	const struct q *q = &qs[i];
	struct mq_attr a;
	struct stat st;
	char buf[20000];
	int order[8], n = 0;

	if (mq_getattr(fd, &a) < 0)
		fail("%s: mq_getattr: %s", q->name, strerror(errno));
	if (a.mq_maxmsg != q->maxmsg || a.mq_msgsize != q->msgsize || a.mq_curmsgs != q->nmsg)
		fail("%s: maxmsg %ld msgsize %ld curmsgs %ld, expected %ld %ld %d", q->name,
		     (long)a.mq_maxmsg, (long)a.mq_msgsize, (long)a.mq_curmsgs, q->maxmsg, q->msgsize, q->nmsg);
	if (fstat(fd, &st) < 0)
		fail("%s: fstat", q->name);
	if ((st.st_mode & 07777) != q->mode || st.st_uid != q->uid || st.st_gid != q->gid)
		fail("%s: mode %o owner %u:%u, expected %o %u:%u", q->name, st.st_mode & 07777,
		     st.st_uid, st.st_gid, q->mode, q->uid, q->gid);
	/* highest priority first, oldest first within one */
	for (unsigned p = 32768; p-- > 0;)
		for (int m = 0; m < q->nmsg; m++)
			if (q->prio[m] == p)
				order[n++] = m;
	for (int k = 0; k < n; k++) {
		int m = order[k];
		unsigned prio;
		ssize_t r = mq_receive(fd, buf, sizeof(buf), &prio);

		if (r < 0)
			fail("%s: message %d (the %dth sent) is gone: %s", q->name, k, m, strerror(errno));
		if (prio != q->prio[m] || (size_t)r != q->len[m] || datachk(buf, r, seed(i, m)))
			fail("%s: message %d is %zd bytes of priority %u, expected the %dth sent: %zu bytes of priority %u%s",
			     q->name, k, r, prio, m, q->len[m], q->prio[m],
			     (size_t)r == q->len[m] && prio == q->prio[m] ? " (contents differ)" : "");
	}
	if (mq_getattr(fd, &a) < 0 || a.mq_curmsgs)
		fail("%s: %ld messages more than sent", q->name, (long)a.mq_curmsgs);
}

int main(int argc, char **argv)
{
	char buf[20000];
	mqd_t a, a2, b;
	struct mq_attr at;
	int fl;

	test_init(argc, argv);
	if (getpid() != 1)
		skip("needs namespaces of its own (run.sh --ns)");
	for (unsigned i = 0; i < NSYS; i++)
		set_sysctl(sysctls[i].name, sysctls[i].value);
	for (unsigned i = 0; i < NQ; i++) {
		const struct q *q = &qs[i];
		struct mq_attr attr = { .mq_maxmsg = q->maxmsg, .mq_msgsize = q->msgsize };
		mqd_t fd = mq_open(q->name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);

		if (fd < 0)
			fail("mq_open %s: %s", q->name, strerror(errno));
		for (int m = 0; m < q->nmsg; m++) {
			datagen(buf, q->len[m], seed(i, m));
			if (mq_send(fd, buf, q->len[m], q->prio[m]) < 0)
				fail("%s: mq_send %d: %s", q->name, m, strerror(errno));
		}
		if (fchown(fd, q->uid, q->gid) < 0 || fchmod(fd, q->mode) < 0)
			fail("%s: fchown/fchmod: %s", q->name, strerror(errno));
		mq_close(fd);
	}
	/* descriptors: a twice (one open file), b write-only and non-blocking, c none */
	a = mq_open(qs[0].name, O_RDWR);
	b = mq_open(qs[1].name, O_WRONLY | O_NONBLOCK);
	if (a < 0 || b < 0)
		fail("mq_open: %s", strerror(errno));
	a2 = dup(a);

	test_daemon();
	test_waitsig();

	for (unsigned i = 0; i < NSYS; i++)
		if (get_sysctl(sysctls[i].name) != sysctls[i].value)
			fail("fs.mqueue.%s is %ld, expected %ld", sysctls[i].name, get_sysctl(sysctls[i].name),
			     sysctls[i].value);
	fl = fcntl(b, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_WRONLY || !(fl & O_NONBLOCK) || mq_getattr(b, &at) < 0 ||
	    !(at.mq_flags & O_NONBLOCK))
		fail("%s: descriptor flags 0%o, expected write-only and non-blocking", qs[1].name, fl);
	fl = fcntl(a, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR || (fl & O_NONBLOCK))
		fail("%s: descriptor flags 0%o, expected read-write and blocking", qs[0].name, fl);
	/* a2 shares a's open file: a flag set on one shows on the other */
	at.mq_flags = O_NONBLOCK;
	if (mq_setattr(a, &at, NULL) < 0 || !(fcntl(a2, F_GETFL) & O_NONBLOCK))
		fail("%s: its two descriptors are not one open file any more", qs[0].name);
	check_queue(0, a2);
	check_queue(1, b == -1 ? b : mq_open(qs[1].name, O_RDONLY));
	check_queue(2, mq_open(qs[2].name, O_RDONLY | O_NONBLOCK));
	pass();
}
