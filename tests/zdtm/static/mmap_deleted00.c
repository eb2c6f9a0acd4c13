// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mmap_deleted00: a deleted file mapped shared (twice) and private, with no
 * fd left open. After C/R the contents are intact, the private mapping keeps
 * its own copied pages, and all mappings still share the one file: writes
 * through a shared mapping show in the other shared mapping and in the
 * private mapping's untouched pages.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define FNAME "mmap_deleted00.data"
#define NPAGES 16

static long pg;

static int region_chk(const char *what, unsigned char *p, size_t len, uint32_t seed)
{
	long off = datadiff(p, len, seed);

	if (off >= 0)
		fail("%s differs at byte %ld", what, off);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char *sh, *sh2, *pr, *file;
	char maps[65536];
	size_t size;
	int fd, i;

	test_init(argc, argv);
	pg = sysconf(_SC_PAGESIZE);
	size = NPAGES * pg;
	file = malloc(size);
	if (!file)
		fail("malloc");
	datagen(file, size, 4242);

	fd = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		fail("open");
	if (write(fd, file, size) != (ssize_t)size)
		fail("write");
	sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	/* The second shared mapping covers pages 4..15 only. */
	sh2 = mmap(NULL, size - 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4 * pg);
	pr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (sh == MAP_FAILED || sh2 == MAP_FAILED || pr == MAP_FAILED)
		fail("mmap");
	close(fd);
	if (unlink(FNAME))
		fail("unlink");

	/* Shared writes to pages 0-3, private copies of pages 8-11. */
	datagen(sh, 4 * pg, 1);
	datagen(file, 4 * pg, 1);
	for (i = 8; i < 12; i++)
		datagen(pr + i * pg, pg, 100 + i);
	/* Pages 4-7 and 12-15 of the private mapping are never touched before the dump. */

	test_daemon();
	test_waitsig();

	if (test_read_file("/proc/self/maps", maps, sizeof(maps)) <= 0)
		fail("read maps");
	if (!strstr(maps, FNAME " (deleted)"))
		fail("no '" FNAME " (deleted)' mapping in /proc/self/maps");

	region_chk("shared pages 0-3", sh, 4 * pg, 1);
	if (memcmp(sh + 4 * pg, file + 4 * pg, size - 4 * pg))
		fail("shared pages 4-15 differ from the file pattern");
	if (memcmp(sh2, file + 4 * pg, size - 4 * pg))
		fail("second shared mapping differs from the file");
	for (i = 8; i < 12; i++) {
		char what[64];

		snprintf(what, sizeof(what), "private copied page %d", i);
		region_chk(what, pr + i * pg, pg, 100 + i);
	}
	if (memcmp(pr, file, 4 * pg))
		fail("private pages 0-3 do not show the shared writes");

	/* Sharing: a shared write shows in the other shared mapping and in untouched private pages. */
	datagen(sh + 5 * pg, pg, 7);
	region_chk("second shared mapping after a write through the first", sh2 + pg, pg, 7);
	region_chk("untouched private page 5 after a shared write", pr + 5 * pg, pg, 7);
	datagen(sh2 + 9 * pg, pg, 8); /* file page 13 */
	region_chk("first shared mapping after a write through the second", sh + 13 * pg, pg, 8);
	region_chk("untouched private page 13 after a shared write", pr + 13 * pg, pg, 8);
	/* ... but not in the private copies, and private writes stay private. */
	datagen(sh + 9 * pg, pg, 9);
	region_chk("private copied page 9 after a shared write", pr + 9 * pg, pg, 109);
	memset(pr + 6 * pg, 0x5a, pg);
	if (memcmp(sh + 6 * pg, file + 6 * pg, pg))
		fail("a private write reached the shared mapping");
	pass();
}
