// SPDX-License-Identifier: LGPL-2.1-or-later
/* fork00: children with private (COW-shared) memory survive and report by exit code. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NCHILD 4
#define MEMSZ (1 << 20)

struct shared {
	volatile int ready;
	volatile unsigned int result[NCHILD];
};

int main(int argc, char **argv)
{
	unsigned char *common, *own;
	struct shared *sh;
	pid_t pids[NCHILD];
	int i, st;
	long off;

	test_init(argc, argv);

	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	/* common: written before fork, so parent and children share it COW. */
	common = mmap(NULL, MEMSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || common == MAP_FAILED)
		fail("mmap");
	datagen(common, MEMSZ, 1000);

	for (i = 0; i < NCHILD; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			fail("fork");
		if (pids[i] == 0) {
			pid_t me = getpid();

			own = malloc(MEMSZ);
			if (!own)
				exit(2);
			datagen(own, MEMSZ, 2000 + i);
			/* Half of the children dirty one COW page before C/R. */
			if (i & 1)
				memset(common + 4096 * i, i, 4096);
			__sync_fetch_and_add(&sh->ready, 1);
			test_waitsig();
			if (getpid() != me)
				exit(3);
			if ((off = datadiff(own, MEMSZ, 2000 + i)) >= 0) {
				test_msg("child %d: own memory differs at %ld", i, off);
				exit(4);
			}
			if (i & 1) {
				long j;

				for (j = 0; j < 4096; j++)
					if (common[4096 * i + j] != i)
						exit(5);
			}
			{
				unsigned char *tmp = malloc(MEMSZ);

				if (!tmp)
					exit(2);
				datagen(tmp, MEMSZ, 1000);
				if (i & 1)
					memcpy(common + 4096 * i, tmp + 4096 * i, 4096);
				if (memcmp(tmp, common, MEMSZ)) {
					test_msg("child %d: COW-shared memory differs", i);
					exit(6);
				}
				/* Writing now must not leak into the parent. */
				memset(common, 0xa5, 4096 * 2);
				free(tmp);
			}
			sh->result[i] = 0xc0de0000u + i;
			exit(10 + i);
		}
	}
	while (sh->ready < NCHILD)
		test_msleep(5);

	test_daemon();
	test_waitsig();

	for (i = 0; i < NCHILD; i++)
		if (kill(pids[i], SIGTERM))
			fail("child %d (pid %d) is gone", i, pids[i]);
	for (i = 0; i < NCHILD; i++) {
		if (waitpid(pids[i], &st, 0) != pids[i])
			fail("waitpid(%d)", pids[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 10 + i)
			fail("child %d: status 0x%x, expected exit %d", i, st, 10 + i);
		if (sh->result[i] != 0xc0de0000u + i)
			fail("child %d: shared result 0x%x", i, sh->result[i]);
	}
	if ((off = datadiff(common, MEMSZ, 1000)) >= 0)
		fail("parent: COW-shared memory differs at %ld", off);
	pass();
}
