// SPDX-License-Identifier: LGPL-2.1-or-later
/* ipc_sem00: SysV semaphore sets keep their ids, keys, modes and values in
 * the tree's own IPC namespace. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/ipc.h>
#include <sys/sem.h>
#include <unistd.h>

#include "zdtmtst.h"

#define KEY 0x5e30

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

int main(int argc, char **argv)
{
	unsigned short vals[4] = { 0, 1, 7, 32000 }, got[4];
	struct semid_ds ds;
	union semun arg;
	int id1, id2;

	test_init(argc, argv);
	if (getpid() != 1)
		skip("needs namespaces of its own (run.sh --ns)");
	semctl(semget(IPC_PRIVATE, 1, 0600), 0, IPC_RMID);
	id1 = semget(KEY, 4, IPC_CREAT | IPC_EXCL | 0640);
	id2 = semget(IPC_PRIVATE, 1, 0600);
	if (id1 < 0 || id2 < 0)
		fail("semget");
	arg.array = vals;
	if (semctl(id1, 0, SETALL, arg) < 0 || semctl(id2, 0, SETVAL, (union semun){ .val = 5 }) < 0)
		fail("cannot set the values");

	test_daemon();
	test_waitsig();
	if (semget(KEY, 0, 0) != id1)
		fail("key 0x%x does not name set %d any more", KEY, id1);
	arg.buf = &ds;
	if (semctl(id1, 0, IPC_STAT, arg) < 0 || ds.sem_nsems != 4 || (ds.sem_perm.mode & 0777) != 0640)
		fail("set %d: wrong size or mode", id1);
	arg.array = got;
	if (semctl(id1, 0, GETALL, arg) < 0)
		fail("set %d is gone", id1);
	for (int i = 0; i < 4; i++)
		if (got[i] != vals[i])
			fail("set %d: semaphore %d is %u, expected %u", id1, i, got[i], vals[i]);
	if (semctl(id2, 0, GETVAL) != 5)
		fail("set %d: value is not 5", id2);
	pass();
}
