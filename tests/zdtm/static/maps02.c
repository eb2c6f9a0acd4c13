// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * maps02: private file mappings: modified (COW) pages keep their private
 * data, unmodified pages still show the file, the file is unchanged, and a
 * later write to the file does not leak into COW pages.
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

#define NPAGES 16
#define FNAME "maps02.data"

static size_t pg;

static int is_cow(int i)
{
	return i == 1 || i == 3 || i == 4 || i == 15;
}

static void maps_line_check(void *addr, const char *path, unsigned long offset, const char *perms)
{
	char line[1024], want[64];
	unsigned long s, e, o;
	char p[8];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		fail("/proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %4s %lx", &s, &e, p, &o) != 4)
			continue;
		if (s != (unsigned long)addr)
			continue;
		found = 1;
		if (o != offset || strcmp(p, perms) || !strstr(line, path))
			fail("mapping at %p: '%.*s', expected %s offset %lx of %s", addr,
			     (int)strcspn(line, "\n"), line, perms, offset, path);
	}
	fclose(f);
	snprintf(want, sizeof(want), "%p", addr);
	if (!found)
		fail("no mapping starts at %s", want);
}

int main(int argc, char **argv)
{
	unsigned char *m, *ro, *buf;
	char path[4096];
	int fd, i;
	long off;

	test_init(argc, argv);
	pg = sysconf(_SC_PAGESIZE);
	buf = malloc(NPAGES * pg);
	if (!buf || !getcwd(path, sizeof(path) - 32))
		fail("setup");
	strcat(path, "/" FNAME);

	fd = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		fail("create %s", FNAME);
	datagen(buf, NPAGES * pg, 10);
	if (write(fd, buf, NPAGES * pg) != (ssize_t)(NPAGES * pg))
		fail("write %s", FNAME);
	m = mmap(NULL, NPAGES * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ro = mmap(NULL, 8 * pg, PROT_READ, MAP_PRIVATE, fd, 4 * pg);
	if (m == MAP_FAILED || ro == MAP_FAILED)
		fail("mmap");
	close(fd);
	for (i = 0; i < NPAGES; i++) {
		if (is_cow(i))
			datagen(m + i * pg, pg, 100 + i);
		else if (i % 2 == 0 && m[i * pg] != buf[i * pg])
			fail("setup: page %d does not show the file", i);
	}

	test_daemon();
	test_waitsig();

	maps_line_check(m, path, 0, "rw-p");
	maps_line_check(ro, path, 4 * pg, "r--p");
	for (i = 0; i < NPAGES; i++) {
		if (is_cow(i))
			off = datadiff(m + i * pg, pg, 100 + i);
		else
			off = memcmp(m + i * pg, buf + i * pg, pg) ? 0 : -1;
		if (off >= 0)
			fail("private page %d (%s) differs", i, is_cow(i) ? "modified" : "unmodified");
	}
	if (memcmp(ro, buf + 4 * pg, 8 * pg))
		fail("read-only private mapping at offset 4 pages differs from the file");

	fd = open(FNAME, O_RDWR);
	if (fd < 0)
		fail("open %s", FNAME);
	if (pread(fd, buf, NPAGES * pg, 0) != (ssize_t)(NPAGES * pg))
		fail("pread");
	if ((off = datadiff(buf, NPAGES * pg, 10)) >= 0)
		fail("file changed at byte %ld (private writes leaked?)", off);
	/* Writing the file must not show through modified private pages. */
	memset(buf, 0xee, pg);
	for (i = 0; i < NPAGES; i++)
		if (is_cow(i) && pwrite(fd, buf, pg, i * pg) != (ssize_t)pg)
			fail("pwrite");
	close(fd);
	for (i = 0; i < NPAGES; i++)
		if (is_cow(i) && datachk(m + i * pg, pg, 100 + i))
			fail("file write leaked into modified private page %d", i);
	pass();
}
