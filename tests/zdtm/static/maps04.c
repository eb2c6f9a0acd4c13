// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * maps04: a 256 MiB anonymous mapping with 64 MiB touched and the rest
 * untouched (plus a sparsely touched chunk): touched data intact, untouched
 * pages still not populated and still zero.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define CHUNK (16UL << 20)
#define NCHUNKS 16
#define SIZE (CHUNK * NCHUNKS)
#define SPARSE_CHUNK 2
#define SPARSE_STEP 7

static size_t pg;

static int touched_chunk(unsigned long c)
{
	return c % 4 == 0;
}

static int sparse_page(unsigned long pgno)
{
	unsigned long c = pgno * pg / CHUNK;

	return c == SPARSE_CHUNK && (pgno % SPARSE_STEP) == 0;
}

int main(int argc, char **argv)
{
	unsigned long npages, i, c;
	unsigned char *m;
	uint64_t *pm;
	int fd;
	long off;

	test_init(argc, argv);
	pg = sysconf(_SC_PAGESIZE);
	npages = SIZE / pg;
	m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap");
	/* No THP: an untouched page must really stay unpopulated. */
	madvise(m, SIZE, MADV_NOHUGEPAGE);
	for (c = 0; c < NCHUNKS; c++)
		if (touched_chunk(c))
			datagen(m + c * CHUNK, CHUNK, 900 + c);
	for (i = 0; i < npages; i++)
		if (sparse_page(i))
			datagen(m + i * pg, pg, 5000 + i);
	pm = malloc(npages * sizeof(*pm));
	if (!pm)
		fail("malloc");

	test_daemon();
	test_waitsig();

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		fail("open pagemap");
	if (pread(fd, pm, npages * sizeof(*pm), (uintptr_t)m / pg * sizeof(*pm)) !=
	    (ssize_t)(npages * sizeof(*pm)))
		fail("read pagemap");
	close(fd);
	for (i = 0; i < npages; i++) {
		int expect = touched_chunk(i * pg / CHUNK) || sparse_page(i);

		if (!expect && (pm[i] >> 62))
			fail("untouched page %lu (offset %#lx) is populated after restore", i, i * pg);
	}
	for (c = 0; c < NCHUNKS; c++) {
		if (!touched_chunk(c))
			continue;
		if ((off = datadiff(m + c * CHUNK, CHUNK, 900 + c)) >= 0)
			fail("chunk %lu: byte %ld differs", c, off);
	}
	for (i = 0; i < npages; i++) {
		unsigned long j;

		if (touched_chunk(i * pg / CHUNK))
			continue;
		if (sparse_page(i)) {
			if (datachk(m + i * pg, pg, 5000 + i))
				fail("sparse page %lu differs", i);
			continue;
		}
		for (j = 0; j < pg; j += 8)
			if (*(uint64_t *)(m + i * pg + j))
				fail("untouched page %lu is not zero", i);
	}
	pass();
}
