// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bigheap00: 200 MiB of malloc'd memory keep every byte: a distinct pattern
 * per MiB (so misplaced pages show), with every 16th MiB never touched (must
 * still read as zeroes) and the last bytes of the block written.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zdtmtst.h"

#define MIB (1024UL * 1024)
#define NMIB 200
#define TAIL 777

static int untouched(int i)
{
	return i % 16 == 5;
}

int main(int argc, char **argv)
{
	unsigned char *heap;
	long off;
	size_t j;
	int i;

	test_init(argc, argv);
	heap = malloc(NMIB * MIB + TAIL);
	if (!heap)
		fail("malloc");
	for (i = 0; i < NMIB; i++)
		if (!untouched(i))
			datagen(heap + i * MIB, MIB, 5000 + i);
	datagen(heap + NMIB * MIB, TAIL, 1);

	test_daemon();
	test_waitsig();

	for (i = 0; i < NMIB; i++) {
		unsigned char *p = heap + i * MIB;

		if (untouched(i)) {
			for (j = 0; j < MIB; j++)
				if (p[j])
					fail("untouched MiB %d: byte %zu is %#x", i, j, p[j]);
		} else if ((off = datadiff(p, MIB, 5000 + i)) >= 0) {
			fail("MiB %d differs at byte %ld", i, off);
		}
	}
	if ((off = datadiff(heap + NMIB * MIB, TAIL, 1)) >= 0)
		fail("tail differs at byte %ld", off);
	free(heap);
	pass();
}
