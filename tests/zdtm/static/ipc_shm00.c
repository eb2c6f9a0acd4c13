// SPDX-License-Identifier: LGPL-2.1-or-later
/* ipc_shm00: SysV shared memory segments (keyed and private) keep their ids,
 * keys, modes, sizes and contents in the tree's own IPC namespace. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "zdtmtst.h"

#define KEY 0x5a17
#define SZ1 (3 * 4096 + 100)
#define SZ2 4096

static void check(int id, size_t size, int mode, uint32_t seed, size_t filled)
{
	struct shmid_ds ds;
	char *p;

	if (shmctl(id, IPC_STAT, &ds) < 0)
		fail("segment %d is gone", id);
	if (ds.shm_segsz != size || (int)(ds.shm_perm.mode & 0777) != mode)
		fail("segment %d: size %zu mode %o, expected %zu %o", id, (size_t)ds.shm_segsz,
		     ds.shm_perm.mode & 0777, size, mode);
	p = shmat(id, NULL, 0);
	if (p == (void *)-1)
		fail("cannot attach segment %d", id);
	if (datachk(p, filled, seed))
		fail("segment %d: contents differ", id);
	for (size_t i = filled; i < size; i++)
		if (p[i])
			fail("segment %d: byte %zu is not zero", id, i);
	shmdt(p);
}

int main(int argc, char **argv)
{
	int id1, id2;
	char *p;

	test_init(argc, argv);
	if (getpid() != 1)
		skip("needs namespaces of its own (run.sh --ns)");
	/* a few ids used and freed, so that the ids are not the first ones */
	for (int i = 0; i < 3; i++)
		shmctl(shmget(IPC_PRIVATE, 4096, 0600), IPC_RMID, NULL);
	id1 = shmget(KEY, SZ1, IPC_CREAT | IPC_EXCL | 0640);
	id2 = shmget(IPC_PRIVATE, SZ2, 0600);
	if (id1 < 0 || id2 < 0)
		fail("shmget");
	p = shmat(id1, NULL, 0);
	if (p == (void *)-1)
		fail("shmat");
	datagen(p, SZ1 - 1000, 11);
	shmdt(p);
	p = shmat(id2, NULL, 0);
	if (p == (void *)-1)
		fail("shmat");
	datagen(p, 100, 12);
	shmdt(p);

	test_daemon();
	test_waitsig();
	if (shmget(KEY, 0, 0) != id1)
		fail("key 0x%x does not name segment %d any more", KEY, id1);
	check(id1, SZ1, 0640, 11, SZ1 - 1000);
	check(id2, SZ2, 0600, 12, 100);
	pass();
}
