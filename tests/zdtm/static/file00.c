// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A regular file open three ways: read-write at an offset, write-only O_APPEND
 * with close-on-exec, read-only O_NONBLOCK. After C/R the offsets, F_GETFL and
 * F_GETFD values, the inode and the contents are unchanged, and O_APPEND still
 * writes at the end.
 */
#include "fdutil.h"

#define FNAME "file00.data"
#define SIZE 10000
#define SEED 1000

int main(int argc, char **argv)
{
	struct fd_snap s_rw, s_ap, s_ro;
	struct stat st;
	char buf[SIZE];
	int rw, ap, ro;

	test_init(argc, argv);

	rw = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0640);
	if (rw < 0)
		fail("open " FNAME);
	write_pattern(rw, SIZE, SEED, "fill");
	if (lseek(rw, 1234, SEEK_SET) != 1234)
		fail("lseek");
	ap = open(FNAME, O_WRONLY | O_APPEND | O_CLOEXEC);
	ro = open(FNAME, O_RDONLY | O_NONBLOCK);
	if (ap < 0 || ro < 0)
		fail("open " FNAME " again");
	if (lseek(ro, 4321, SEEK_SET) != 4321)
		fail("lseek ro");

	fd_snap(rw, &s_rw, "rw");
	fd_snap(ap, &s_ap, "append");
	fd_snap(ro, &s_ro, "ro");
	CHECK(s_ap.fdfl == FD_CLOEXEC && s_rw.fdfl == 0 && s_ro.fdfl == 0, "FD_CLOEXEC setup");

	test_daemon();
	test_waitsig();

	fd_snap_check(rw, &s_rw, true, "rw");
	fd_snap_check(ap, &s_ap, true, "append");
	fd_snap_check(ro, &s_ro, true, "ro");
	CHECK((s_rw.fl & O_ACCMODE) == O_RDWR, "rw access mode %#o", s_rw.fl);
	CHECK((s_ap.fl & (O_ACCMODE | O_APPEND)) == (O_WRONLY | O_APPEND), "append flags %#o", s_ap.fl);
	CHECK((s_ro.fl & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK), "ro flags %#o", s_ro.fl);
	CHECK(fcntl(ap, F_GETFD) == FD_CLOEXEC, "append fd lost FD_CLOEXEC");
	CHECK(fcntl(rw, F_GETFD) == 0, "rw fd gained FD_CLOEXEC");
	if (stat(FNAME, &st) || st.st_ino != s_rw.st.st_ino || st.st_size != SIZE)
		fail(FNAME " changed on disk (size %lld)", (long long)st.st_size);

	/* contents, read from where each fd stands */
	if (pread(rw, buf, SIZE, 0) != SIZE || datachk(buf, SIZE, SEED))
		fail("contents differ");
	if (read_full(rw, buf, SIZE - 1234) != SIZE - 1234)
		fail("read from rw offset");
	{
		char want[SIZE];

		datagen(want, SIZE, SEED);
		if (memcmp(buf, want + 1234, SIZE - 1234))
			fail("rw reads wrong bytes from offset 1234");
		if (read(ro, buf, 100) != 100 || memcmp(buf, want + 4321, 100))
			fail("ro reads wrong bytes from offset 4321");
	}
	check_pos(rw, SIZE, "rw after read");

	/* O_APPEND still appends, after moving the fd's own offset back */
	lseek(ap, 0, SEEK_SET);
	if (write(ap, "tail", 4) != 4)
		fail("write append");
	check_pos(ap, SIZE + 4, "append after write");
	if (pread(rw, buf, 4, SIZE) != 4 || memcmp(buf, "tail", 4))
		fail("O_APPEND write did not land at the end");
	if (write(ro, "x", 1) != -1 || errno != EBADF)
		fail("write on O_RDONLY fd did not fail with EBADF");
	pass();
}
