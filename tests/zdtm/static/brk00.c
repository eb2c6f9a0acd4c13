// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * brk00: the heap (brk area) keeps its contents and bounds; it can be grown
 * and shrunk after restore.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#define GROW (1024 * 1024 + 123)
#define SHRINK (256 * 1024)

static unsigned long start_brk(void)
{
	char buf[2048], *p;
	unsigned long v = 0;
	int field;

	if (test_read_file("/proc/self/stat", buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	/* field 3 follows ") "; start_brk is field 48 */
	for (field = 2; p && field < 48; field++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%lu", &v);
	return v;
}

int main(int argc, char **argv)
{
	unsigned long sb, sb2;
	char *b0, *b1, *b2, *p;
	long off, i;

	test_init(argc, argv);
	b0 = sbrk(0);
	if (sbrk(GROW) == (void *)-1)
		fail("sbrk(+%d)", GROW);
	datagen(b0, GROW, 1234);
	if (sbrk(-SHRINK) == (void *)-1)
		fail("sbrk(-%d)", SHRINK);
	b1 = sbrk(0);
	if (b1 != b0 + GROW - SHRINK)
		fail("setup: brk at %p, expected %p", (void *)b1, (void *)(b0 + GROW - SHRINK));
	sb = start_brk();
	if (!sb)
		fail("cannot read start_brk");

	test_daemon();
	test_waitsig();

	b2 = sbrk(0);
	if (b2 != b1)
		fail("brk is %p, expected %p", (void *)b2, (void *)b1);
	sb2 = start_brk();
	if (sb2 != sb)
		fail("start_brk is %#lx, expected %#lx", sb2, sb);
	if ((off = datadiff(b0, GROW - SHRINK, 1234)) >= 0)
		fail("heap byte %ld differs", off);
	p = sbrk(512 * 1024);
	if (p != b1)
		fail("sbrk(+512K) after restore returned %p, expected %p", (void *)p, (void *)b1);
	/* Whole pages above the old break were released: they must be zero now. */
	for (i = (long)((((unsigned long)b0 + GROW + 4095) & ~4095UL) - (unsigned long)p);
	     i < 512 * 1024; i++)
		if (p[i])
			fail("new heap byte %ld is 0x%x", i, (unsigned char)p[i]);
	memset(p, 0x5a, 512 * 1024);
	if (sbrk(-512 * 1024) == (void *)-1 || sbrk(0) != b1)
		fail("sbrk(-512K) after restore");
	if ((off = datadiff(b0, GROW - SHRINK, 1234)) >= 0)
		fail("heap byte %ld differs after grow/shrink", off);
	pass();
}
