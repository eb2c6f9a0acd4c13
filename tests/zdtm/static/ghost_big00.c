// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ghost_big00: a 3 MiB file unlinked while open. It is larger than the
 * default ghost-file limit, so the .desc raises it (--ghost-limit 8M); the fd
 * keeps the whole contents, its offset and the unlinked state.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define FNAME "ghost_big00.data"
#define SIZE (3 * 1024 * 1024 + 123)
#define OFFSET 1234567

int main(int argc, char **argv)
{
	unsigned char *buf;
	struct stat st;
	char path[64], link[512];
	ssize_t n;
	long off;
	int fd;

	test_init(argc, argv);
	buf = malloc(SIZE);
	if (!buf)
		fail("malloc");
	datagen(buf, SIZE, 333);
	fd = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0640);
	if (fd < 0)
		fail("open");
	if (write(fd, buf, SIZE) != SIZE)
		fail("write");
	if (unlink(FNAME))
		fail("unlink");
	if (lseek(fd, OFFSET, SEEK_SET) != OFFSET)
		fail("lseek");
	memset(buf, 0, SIZE);

	test_daemon();
	test_waitsig();

	if (fstat(fd, &st))
		fail("fstat");
	if (st.st_nlink != 0)
		fail("st_nlink %lu, expected 0", (unsigned long)st.st_nlink);
	if (st.st_size != SIZE)
		fail("size %lld, expected %d", (long long)st.st_size, SIZE);
	if ((st.st_mode & 07777) != 0640)
		fail("mode %o, expected 640", st.st_mode & 07777);
	if (!access(FNAME, F_OK) || errno != ENOENT)
		fail(FNAME " reappeared");
	if ((off = lseek(fd, 0, SEEK_CUR)) != OFFSET)
		fail("offset %ld, expected %d", off, OFFSET);
	n = pread(fd, buf, SIZE, 0);
	if (n != SIZE)
		fail("pread %zd bytes, expected %d", n, SIZE);
	if ((off = datadiff(buf, SIZE, 333)) >= 0)
		fail("contents differ at byte %ld", off);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		fail("readlink");
	link[n] = '\0';
	if (!strstr(link, FNAME " (deleted)"))
		fail("fd link is '%s'", link);
	pass();
}
