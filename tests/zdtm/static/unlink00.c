// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A file that was unlinked while open. After C/R the fd still reads the same
 * bytes from the same offset, the file is still unlinked (st_nlink 0, nothing
 * at the old path) and remains writable.
 */
#include "fdutil.h"

#define FNAME "unlink00.data"
#define SIZE 8192

int main(int argc, char **argv)
{
	struct fd_snap s;
	struct stat st;
	char buf[SIZE], want[SIZE];
	int fd;

	test_init(argc, argv);

	fd = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0640);
	if (fd < 0)
		fail("open");
	write_pattern(fd, SIZE, 77, "fill");
	if (unlink(FNAME))
		fail("unlink");
	lseek(fd, 5000, SEEK_SET);
	fd_snap(fd, &s, "unlinked");

	test_daemon();
	test_waitsig();

	fd_snap_check(fd, &s, false, "unlinked");
	if (fstat(fd, &st))
		fail("fstat");
	CHECK(st.st_nlink == 0, "st_nlink %lu, want 0", (unsigned long)st.st_nlink);
	CHECK(st.st_size == SIZE, "size %lld", (long long)st.st_size);
	CHECK((st.st_mode & 07777) == 0640, "mode %o", st.st_mode & 07777);
	CHECK(access(FNAME, F_OK) && errno == ENOENT, FNAME " reappeared");

	datagen(want, SIZE, 77);
	if (read_full(fd, buf, SIZE) != SIZE - 5000 || memcmp(buf, want + 5000, SIZE - 5000))
		fail("read from offset 5000");
	if (pread(fd, buf, SIZE, 0) != SIZE || memcmp(buf, want, SIZE))
		fail("whole contents");
	if (write(fd, "end", 3) != 3 || pread(fd, buf, 3, SIZE) != 3 || memcmp(buf, "end", 3))
		fail("write after restore");
	{
		char path[64], link[256];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			fail("readlink");
		link[n] = '\0';
		if (!strstr(link, FNAME " (deleted)"))
			fail("fd link is '%s'", link);
	}
	pass();
}
