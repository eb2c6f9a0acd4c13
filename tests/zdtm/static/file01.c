// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One file opened twice (two open file descriptions, separate offsets and
 * status flags) and one of them dup'ed (shared offset and status flags,
 * separate close-on-exec). After C/R the sharing is exactly the same.
 */
#include "fdutil.h"

#define FNAME "file01.data"
#define SIZE 8192

int main(int argc, char **argv)
{
	int a, b, c, d;

	test_init(argc, argv);

	a = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (a < 0)
		fail("open a");
	write_pattern(a, SIZE, 101, "fill");
	b = open(FNAME, O_RDWR);
	c = dup(a);
	d = fcntl(a, F_DUPFD_CLOEXEC, 40);
	if (b < 0 || c < 0 || d != 40)
		fail("open b/dup c/dup d (d=%d)", d);
	lseek(a, 100, SEEK_SET);
	lseek(b, 200, SEEK_SET);

	check_same_file(a, c, "before");
	check_same_file(a, d, "before");
	check_other_file(a, b, "before");

	test_daemon();
	test_waitsig();

	check_same_file(a, c, "dup");
	check_same_file(a, d, "F_DUPFD_CLOEXEC");
	check_other_file(a, b, "separate open");
	check_other_file(c, b, "separate open");
	check_pos(a, 100, "a");
	check_pos(c, 100, "c");
	check_pos(d, 100, "d");
	check_pos(b, 200, "b");
	CHECK(fcntl(a, F_GETFD) == 0 && fcntl(c, F_GETFD) == 0, "a/c got FD_CLOEXEC");
	CHECK(fcntl(d, F_GETFD) == FD_CLOEXEC, "d lost FD_CLOEXEC");

	/* offsets move together on the shared description only */
	lseek(c, 3000, SEEK_SET);
	check_pos(a, 3000, "a after seeking c");
	check_pos(d, 3000, "d after seeking c");
	check_pos(b, 200, "b after seeking c");
	lseek(b, 5000, SEEK_SET);
	check_pos(a, 3000, "a after seeking b");

	/* status flags are per description too */
	if (fcntl(c, F_SETFL, O_NONBLOCK))
		fail("F_SETFL");
	CHECK(fcntl(a, F_GETFL) & O_NONBLOCK, "O_NONBLOCK not shared by dup");
	CHECK(!(fcntl(b, F_GETFL) & O_NONBLOCK), "O_NONBLOCK leaked to separate open");

	/* both still see the same inode */
	{
		char want[SIZE], buf[16];

		datagen(want, SIZE, 101);
		if (read(a, buf, 16) != 16 || memcmp(buf, want + 3000, 16))
			fail("read a");
		if (read(b, buf, 16) != 16 || memcmp(buf, want + 5000, 16))
			fail("read b");
		check_pos(d, 3016, "d after reading a");
		if (pwrite(b, "XY", 2, 10) != 2 || pread(a, buf, 2, 10) != 2 || memcmp(buf, "XY", 2))
			fail("write through b not visible through a");
	}
	pass();
}
