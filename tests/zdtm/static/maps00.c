// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * maps00: private anonymous mappings of several protections, PROT_NONE
 * guards, an untouched area and an mremap()ed block keep their layout,
 * protections and every byte.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NPAGES 48

struct area {
	int first, count, prot;
	uint32_t seed; /* 0: untouched, must stay zero */
};

static const struct area areas[] = {
	{ 0, 4, PROT_READ | PROT_WRITE, 1 },
	{ 5, 4, PROT_READ, 2 },
	{ 10, 4, PROT_READ | PROT_EXEC, 3 },
	{ 15, 4, PROT_READ | PROT_WRITE, 0 },
	{ 20, 8, PROT_READ | PROT_WRITE | PROT_EXEC, 4 },
	{ 29, 1, PROT_READ | PROT_WRITE, 6 },
	{ 31, 4, PROT_READ | PROT_WRITE, 5 }, /* moved in with mremap */
};
#define NAREAS (int)(sizeof(areas) / sizeof(areas[0]))

int main(int argc, char **argv)
{
	size_t pg = sysconf(_SC_PAGESIZE);
	char prots[NPAGES * 4], prots2[NPAGES * 4];
	unsigned char *base, *p, *tmp;
	int i, j;
	long off;

	test_init(argc, argv);

	base = mmap(NULL, NPAGES * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		fail("mmap reserve");
	for (i = 0; i < NAREAS; i++) {
		const struct area *a = &areas[i];

		p = base + a->first * pg;
		if (a->first == 31) {
			/* Build it elsewhere, then move it into place. */
			tmp = mmap(NULL, a->count * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (tmp == MAP_FAILED)
				fail("mmap tmp");
			datagen(tmp, a->count * pg, a->seed);
			if (mremap(tmp, a->count * pg, a->count * pg, MREMAP_MAYMOVE | MREMAP_FIXED, p) != p)
				fail("mremap");
			continue;
		}
		if (mmap(p, a->count * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
			fail("mmap area %d", i);
		if (a->seed)
			datagen(p, a->count * pg, a->seed);
		if (mprotect(p, a->count * pg, a->prot))
			fail("mprotect area %d", i);
	}
	if (test_page_prots(base, NPAGES, prots))
		fail("cannot read /proc/self/maps");
	for (i = 0; i < NAREAS; i++)
		for (j = 0; j < areas[i].count; j++)
			if (prots[(areas[i].first + j) * 4] == '-' && areas[i].prot)
				fail("setup: page %d not readable", areas[i].first + j);

	test_daemon();
	test_waitsig();

	if (test_page_prots(base, NPAGES, prots2))
		fail("cannot read /proc/self/maps");
	for (i = 0; i < NPAGES; i++)
		if (memcmp(prots + i * 4, prots2 + i * 4, 4))
			fail("page %d: protection %.4s, expected %.4s", i, prots2 + i * 4, prots + i * 4);
	for (i = 0; i < NAREAS; i++) {
		const struct area *a = &areas[i];

		p = base + a->first * pg;
		if (a->seed) {
			off = datadiff(p, a->count * pg, a->seed);
			if (off >= 0)
				fail("area %d (page %d): byte %ld differs", i, a->first, off);
		} else {
			for (off = 0; off < (long)(a->count * pg); off++)
				if (p[off])
					fail("untouched area %d: byte %ld is 0x%x", i, off, p[off]);
		}
	}
	/* Guards are still usable address space of this mapping. */
	if (mprotect(base + 4 * pg, pg, PROT_READ))
		fail("mprotect guard");
	if (base[4 * pg])
		fail("guard page not zero");
	pass();
}
