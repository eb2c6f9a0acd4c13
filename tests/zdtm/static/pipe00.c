// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An anonymous pipe, both ends in one process, 10000 bytes buffered, the
 * read end also dup'ed. After C/R the bytes are all there, both ends are one
 * pipe (same inode), the dup shares the description, and the pipe works.
 */
#include <sys/ioctl.h>
#include "fdutil.h"

#define SIZE 10000

int main(int argc, char **argv)
{
	struct fd_snap s_r, s_w;
	struct stat rst, wst;
	int p[2], rdup, nread;

	test_init(argc, argv);
	if (pipe2(p, O_CLOEXEC))
		fail("pipe");
	write_pattern(p[1], SIZE, 5, "fill");
	rdup = dup(p[0]);
	fcntl(p[1], F_SETFD, 0);
	fd_snap(p[0], &s_r, "read end");
	fd_snap(p[1], &s_w, "write end");

	test_daemon();
	test_waitsig();

	fd_snap_check(p[0], &s_r, false, "read end");
	fd_snap_check(p[1], &s_w, false, "write end");
	CHECK((s_r.fl & O_ACCMODE) == O_RDONLY && (s_w.fl & O_ACCMODE) == O_WRONLY, "access modes");
	CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == 0, "FD_CLOEXEC");
	check_same_file(p[0], rdup, "dup of read end");
	check_other_file(p[0], p[1], "pipe ends");
	if (fstat(p[0], &rst) || fstat(p[1], &wst) || !S_ISFIFO(rst.st_mode) ||
	    rst.st_ino != wst.st_ino || rst.st_dev != wst.st_dev)
		fail("ends are not one pipe");
	if (ioctl(p[0], FIONREAD, &nread) || nread != SIZE)
		fail("FIONREAD %d, want %d", nread, SIZE);
	read_pattern(rdup, 1, 5, "first byte via dup");
	{
		char want[SIZE], buf[SIZE];

		datagen(want, SIZE, 5);
		if (read_full(p[0], buf, SIZE - 1) != SIZE - 1 || memcmp(buf, want + 1, SIZE - 1))
			fail("rest of the data");
	}
	check_drained(p[0], "pipe");
	if (write(p[1], "ping", 4) != 4)
		fail("write");
	{
		char buf[4];

		if (read(rdup, buf, 4) != 4 || memcmp(buf, "ping", 4))
			fail("ping");
	}
	close(p[1]);
	{
		char c;

		if (read(p[0], &c, 1) != 0)
			fail("no EOF after closing the only write end");
	}
	pass();
}
