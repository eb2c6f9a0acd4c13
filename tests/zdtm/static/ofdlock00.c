// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Open file description locks: F_OFD_SETLK write lock on [0, 100) through
 * one open of a file and a read lock on [200, 300) through another, with a
 * dup of the first. After C/R (--file-locks) a third open conflicts with
 * them (F_OFD_GETLK reports type, range and pid -1), the two owners
 * conflict with each other, and the dup can release the lock.
 */
#include "fdutil.h"

#define FNAME "ofdlock00.data"

static int ofd(int fd, int cmd, short type, off_t start, off_t len, struct flock *out)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	int r = fcntl(fd, cmd, &fl);

	if (out)
		*out = fl;
	return r;
}

static void getlk(int fd, short type, off_t start, off_t len, short wtype, off_t wstart, off_t wlen)
{
	struct flock fl;

	if (ofd(fd, F_OFD_GETLK, type, start, len, &fl))
		fail("F_OFD_GETLK");
	if (fl.l_type != wtype)
		fail("F_OFD_GETLK at %lld: type %d, want %d", (long long)start, fl.l_type, wtype);
	if (wtype != F_UNLCK && (fl.l_start != wstart || fl.l_len != wlen || fl.l_pid != -1))
		fail("F_OFD_GETLK at %lld: [%lld +%lld] pid %d", (long long)start,
		     (long long)fl.l_start, (long long)fl.l_len, fl.l_pid);
}

int main(int argc, char **argv)
{
	int a, b, c, a_dup;

	test_init(argc, argv);
	a = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0600);
	b = open(FNAME, O_RDWR);
	if (a < 0 || b < 0)
		fail("open");
	if (ofd(a, F_OFD_SETLK, F_WRLCK, 0, 100, NULL))
		skip("F_OFD_SETLK: %s", strerror(errno));
	if (ofd(b, F_OFD_SETLK, F_RDLCK, 200, 100, NULL))
		fail("F_OFD_SETLK read");
	a_dup = dup(a);

	test_daemon();
	test_waitsig();

	c = open(FNAME, O_RDWR);
	if (c < 0)
		fail("open third");
	getlk(c, F_RDLCK, 50, 1, F_WRLCK, 0, 100);
	getlk(c, F_WRLCK, 250, 1, F_RDLCK, 200, 100);
	getlk(c, F_RDLCK, 250, 1, F_UNLCK, 0, 0);
	getlk(c, F_WRLCK, 100, 100, F_UNLCK, 0, 0);
	/* the two owners are different descriptions: they conflict */
	if (ofd(b, F_OFD_SETLK, F_WRLCK, 10, 1, NULL) != -1 || errno != EAGAIN)
		fail("b could lock inside a's write lock");
	if (ofd(a, F_OFD_SETLK, F_WRLCK, 250, 1, NULL) != -1 || errno != EAGAIN)
		fail("a could write-lock inside b's read lock");
	getlk(b, F_WRLCK, 0, 1, F_WRLCK, 0, 100);
	/* a's own lock, through its dup */
	if (ofd(a_dup, F_OFD_SETLK, F_UNLCK, 0, 100, NULL))
		fail("unlock through the dup");
	getlk(c, F_WRLCK, 0, 100, F_UNLCK, 0, 0);
	if (ofd(c, F_OFD_SETLK, F_WRLCK, 0, 100, NULL))
		fail("range still locked after the owner unlocked it");
	pass();
}
