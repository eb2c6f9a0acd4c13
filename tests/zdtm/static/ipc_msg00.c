// SPDX-License-Identifier: LGPL-2.1-or-later
/* ipc_msg00: SysV message queues keep their ids, keys, modes and messages
 * (types, contents, order) in the tree's own IPC namespace. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#include "zdtmtst.h"

#define KEY 0x3e55
#define NMSG 5

struct m {
	long mtype;
	char text[2000];
};

static size_t msg_len(int i)
{
	return i * 400 + (i == 0 ? 0 : 3);
}

int main(int argc, char **argv)
{
	struct msqid_ds ds;
	struct m m;
	int id;

	test_init(argc, argv);
	if (getpid() != 1)
		skip("needs namespaces of its own (run.sh --ns)");
	id = msgget(KEY, IPC_CREAT | IPC_EXCL | 0620);
	if (id < 0)
		fail("msgget");
	for (int i = 0; i < NMSG; i++) {
		m.mtype = 10 + i % 3;
		datagen(m.text, msg_len(i), 40 + i);
		if (msgsnd(id, &m, msg_len(i), IPC_NOWAIT) < 0)
			fail("msgsnd %d", i);
	}

	test_daemon();
	test_waitsig();
	if (msgget(KEY, 0) != id)
		fail("key 0x%x does not name queue %d any more", KEY, id);
	if (msgctl(id, IPC_STAT, &ds) < 0 || ds.msg_qnum != NMSG || (ds.msg_perm.mode & 0777) != 0620)
		fail("queue %d: %lu messages or wrong mode", id, (unsigned long)ds.msg_qnum);
	for (int i = 0; i < NMSG; i++) {
		ssize_t r = msgrcv(id, &m, sizeof(m.text), 0, IPC_NOWAIT);

		if (r < 0)
			fail("message %d is gone", i);
		if ((size_t)r != msg_len(i) || m.mtype != 10 + i % 3 || datachk(m.text, r, 40 + i))
			fail("message %d differs (%zd bytes, type %ld)", i, r, m.mtype);
	}
	pass();
}
