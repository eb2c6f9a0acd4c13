// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A named FIFO open three times (O_RDWR, O_RDONLY|O_NONBLOCK, O_WRONLY) with
 * 3000 bytes buffered. After C/R all three fds are the same pipe again (data
 * written through one end is read through the other), the buffered bytes are
 * all there, and the FIFO is still the node in the filesystem.
 */
#include <sys/ioctl.h>
#include "fdutil.h"

#define FNAME "fifo00.fifo"
#define SIZE 3000

int main(int argc, char **argv)
{
	struct fd_snap s_rw, s_r, s_w;
	struct stat st, pst;
	int rw, r, w;

	test_init(argc, argv);

	unlink(FNAME);
	if (mkfifo(FNAME, 0600))
		fail("mkfifo");
	rw = open(FNAME, O_RDWR);
	r = open(FNAME, O_RDONLY | O_NONBLOCK);
	w = open(FNAME, O_WRONLY);
	if (rw < 0 || r < 0 || w < 0)
		fail("open fifo");
	write_pattern(w, 1000, 31, "w");
	write_pattern(rw, 2000, 32, "rw");
	fd_snap(rw, &s_rw, "rw");
	fd_snap(r, &s_r, "r");
	fd_snap(w, &s_w, "w");

	test_daemon();
	test_waitsig();

	fd_snap_check(rw, &s_rw, true, "rw");
	fd_snap_check(r, &s_r, true, "r");
	fd_snap_check(w, &s_w, true, "w");
	if (stat(FNAME, &pst) || fstat(r, &st) || !S_ISFIFO(st.st_mode) || st.st_ino != pst.st_ino)
		fail("fd is not the FIFO at " FNAME);
	{
		int nread;

		if (ioctl(r, FIONREAD, &nread) || nread != SIZE)
			fail("FIONREAD %d, want %d", nread, SIZE);
	}
	read_pattern(r, 1000, 31, "first chunk");
	read_pattern(rw, 2000, 32, "second chunk");
	check_drained(r, "fifo");
	/* still one pipe shared by all three */
	if (write(w, "abc", 3) != 3 || write(rw, "de", 2) != 2)
		fail("write after restore");
	{
		char buf[8];

		if (read(r, buf, sizeof(buf)) != 5 || memcmp(buf, "abcde", 5))
			fail("data written after restore");
	}
	pass();
}
