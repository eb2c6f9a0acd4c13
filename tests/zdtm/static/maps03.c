// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * maps03: a MAP_SHARED file mapping: data written through the mapping before
 * C/R is in the file, and after restore writes go both ways.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NPAGES 8
#define FNAME "maps03.data"

int main(int argc, char **argv)
{
	size_t pg = sysconf(_SC_PAGESIZE);
	unsigned char *m, *buf, *want;
	int fd, i;
	long off;

	test_init(argc, argv);
	buf = malloc(NPAGES * pg);
	want = malloc(NPAGES * pg);
	if (!buf || !want)
		fail("malloc");
	fd = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		fail("create %s", FNAME);
	datagen(want, NPAGES * pg, 30);
	if (write(fd, want, NPAGES * pg) != (ssize_t)(NPAGES * pg))
		fail("write");
	m = mmap(NULL, NPAGES * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap");
	close(fd);
	/* Dirty pages 0..3 through the mapping; no msync. */
	for (i = 0; i < 4; i++)
		datagen(want + i * pg, pg, 31 + i);
	memcpy(m, want, 4 * pg);

	test_daemon();
	test_waitsig();

	if ((off = memcmp(m, want, NPAGES * pg)) != 0)
		fail("mapping contents differ");
	fd = open(FNAME, O_RDWR);
	if (fd < 0)
		fail("open %s", FNAME);
	if (pread(fd, buf, NPAGES * pg, 0) != (ssize_t)(NPAGES * pg))
		fail("pread");
	for (i = 0; i < NPAGES; i++)
		if (memcmp(buf + i * pg, want + i * pg, pg))
			fail("file page %d differs from what was written through the mapping", i);
	/* Mapping -> file. */
	datagen(m + 5 * pg, pg, 45);
	if (pread(fd, buf, pg, 5 * pg) != (ssize_t)pg || datachk(buf, pg, 45))
		fail("write through the mapping after restore is not in the file");
	/* File -> mapping. */
	datagen(buf, pg, 46);
	if (pwrite(fd, buf, pg, 6 * pg) != (ssize_t)pg)
		fail("pwrite");
	if (datachk(m + 6 * pg, pg, 46))
		fail("file write after restore is not visible in the mapping");
	close(fd);
	pass();
}
