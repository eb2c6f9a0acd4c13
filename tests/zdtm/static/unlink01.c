// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A 1 MiB unlinked file opened twice (two descriptions on one inode) plus a
 * dup. After C/R both descriptions still share one inode (writes through one
 * are read through the other), offsets are separate, the dup shares its
 * offset, and all 1 MiB is intact.
 */
#include "fdutil.h"

#define FNAME "unlink01.data"
#define SIZE (1 << 20)

int main(int argc, char **argv)
{
	struct stat a_st, b_st;
	char *buf, *want;
	int a, b, c;

	test_init(argc, argv);

	a = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (a < 0)
		fail("open");
	write_pattern(a, SIZE, 4242, "fill");
	b = open(FNAME, O_RDONLY);
	c = dup(a);
	if (b < 0 || c < 0 || unlink(FNAME))
		fail("open/dup/unlink");
	lseek(a, 777777, SEEK_SET);
	lseek(b, 12345, SEEK_SET);

	test_daemon();
	test_waitsig();

	buf = malloc(SIZE);
	want = malloc(SIZE);
	if (!buf || !want)
		fail("malloc");
	datagen(want, SIZE, 4242);
	if (fstat(a, &a_st) || fstat(b, &b_st))
		fail("fstat");
	CHECK(a_st.st_nlink == 0 && b_st.st_nlink == 0, "nlink %lu/%lu",
	      (unsigned long)a_st.st_nlink, (unsigned long)b_st.st_nlink);
	CHECK(a_st.st_dev == b_st.st_dev && a_st.st_ino == b_st.st_ino,
	      "the two opens are different inodes now");
	CHECK(a_st.st_size == SIZE, "size %lld", (long long)a_st.st_size);
	check_same_file(a, c, "dup");
	check_other_file(a, b, "second open");
	check_pos(a, 777777, "a");
	check_pos(c, 777777, "c");
	check_pos(b, 12345, "b");
	CHECK((fcntl(b, F_GETFL) & O_ACCMODE) == O_RDONLY, "b access mode");
	if (pread(b, buf, SIZE, 0) != SIZE)
		fail("pread");
	if (memcmp(buf, want, SIZE)) {
		size_t i = 0;

		while (buf[i] == want[i])
			i++;
		fail("contents differ from byte %zu", i);
	}
	if (read(b, buf, 100) != 100 || memcmp(buf, want + 12345, 100))
		fail("read b at its offset");
	if (write(a, "shared", 6) != 6)
		fail("write a");
	if (pread(b, buf, 6, 777777) != 6 || memcmp(buf, "shared", 6))
		fail("write through a not seen through b");
	check_pos(c, 777783, "c after write through a");
	pass();
}
