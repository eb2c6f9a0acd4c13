// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * maps01: MAP_SHARED anonymous memory stays shared between a parent and a
 * child: old contents intact, and writes after restore visible both ways.
 */
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

#define NPAGES 16

/* page 0: ready flags; 1: parent data; 2: child data; 3..4: written after
 * restore; 5..: untouched (zero) except page 9 */
static unsigned char *sh;
static size_t pg;

static void check_common(const char *who)
{
	long off, i;

	if ((off = datadiff(sh + pg, pg, 51)) >= 0)
		fail("%s: page written by the parent differs at %ld", who, off);
	if ((off = datadiff(sh + 2 * pg, pg, 52)) >= 0)
		fail("%s: page written by the child differs at %ld", who, off);
	if ((off = datadiff(sh + 9 * pg, pg, 59)) >= 0)
		fail("%s: page 9 differs at %ld", who, off);
	for (i = 5 * pg; i < NPAGES * (long)pg; i++)
		if ((i < 9 * (long)pg || i >= 10 * (long)pg) && sh[i])
			fail("%s: untouched byte %ld is 0x%x", who, i, sh[i]);
}

int main(int argc, char **argv)
{
	volatile int *flags;
	unsigned char *solo;
	pid_t child;
	long off;
	int st;

	test_init(argc, argv);
	pg = sysconf(_SC_PAGESIZE);
	sh = mmap(NULL, NPAGES * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail("mmap");
	flags = (volatile int *)sh;
	datagen(sh + 9 * pg, pg, 59);

	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		datagen(sh + 2 * pg, pg, 52);
		flags[0] = 1;
		test_waitsig();
		check_common("child");
		/* The parent wrote page 3 after restore, before waking us. */
		if ((off = datadiff(sh + 3 * pg, pg, 53)) >= 0)
			fail("child: page 3 (written by the parent after restore) differs at %ld", off);
		datagen(sh + 4 * pg, pg, 54);
		exit(0);
	}
	datagen(sh + pg, pg, 51);
	/* A shared mapping only this process has. */
	solo = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (solo == MAP_FAILED)
		fail("mmap");
	datagen(solo, 2 * pg, 60);
	while (!flags[0])
		test_msleep(2);

	test_daemon();
	test_waitsig();

	check_common("parent");
	if ((off = datadiff(solo, 2 * pg, 60)) >= 0)
		fail("parent-only shared mapping differs at %ld", off);
	datagen(sh + 3 * pg, pg, 53);
	kill(child, SIGTERM);
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("child failed (status 0x%x)", st);
	if ((off = datadiff(sh + 4 * pg, pg, 54)) >= 0)
		fail("page 4 (written by the child after restore) differs at %ld", off);
	pass();
}
