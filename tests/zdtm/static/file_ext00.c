// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A log file the caller replaces at restore (run under zdtm-fdhold file): the
 * test opens ZDTM_FILE for appending as fd 8 and dup()s it to fd 9
 * close-on-exec. Each restore hands in a new file under the old one's path
 * (--inherit-fd fd[7]:PATH, CRIU's spelling without the leading '/'), whose
 * only line is "zdtm-fdhold INO", INO being its inode. After C/R: fds 8 and
 * 9 are one open file (O_NONBLOCK set through one shows through the other),
 * fd 9 alone close-on-exec, O_WRONLY|O_APPEND; what the test appends lands
 * after that line in the file fd 8 is on.
 */
#include "fdutil.h"

int main(int argc, char **argv)
{
	const char *path = getenv("ZDTM_FILE");
	char buf[256], want[128], p[64];
	struct stat st, st9;
	int fd, fl;
	long n;

	test_init(argc, argv);
	if (!path)
		skip("ZDTM_FILE is not set: run under zdtm-fdhold file (run.sh does, from file_ext00.desc)");
	fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	if (dup2(fd, 8) < 0 || fcntl(8, F_DUPFD_CLOEXEC, 9) != 9)
		fail("dup: %s", strerror(errno));
	close(fd);

	test_daemon();
	test_waitsig();

	if (fstat(8, &st) || fstat(9, &st9))
		fail("fstat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_ino != st9.st_ino)
		fail("fds 8 and 9 are not on one regular file");
	if (!(fcntl(9, F_GETFD) & FD_CLOEXEC) || (fcntl(8, F_GETFD) & FD_CLOEXEC))
		fail("fd flags: fd 8 %#x, fd 9 %#x", fcntl(8, F_GETFD), fcntl(9, F_GETFD));
	fl = fcntl(8, F_GETFL);
	if ((fl & O_ACCMODE) != O_WRONLY || !(fl & O_APPEND))
		fail("fd 8 status flags %#o: want O_WRONLY|O_APPEND", fl);
	if (fcntl(9, F_SETFL, fl | O_NONBLOCK) || !(fcntl(8, F_GETFL) & O_NONBLOCK))
		fail("fds 8 and 9 are not one open file: O_NONBLOCK set on 9 is not on 8");
	if (write(8, "after\n", 6) != 6)
		fail("write: %s", strerror(errno));
	snprintf(p, sizeof(p), "/proc/self/fd/8");
	n = test_read_file(p, buf, sizeof(buf));
	if (n < 0)
		fail("cannot read the file of fd 8 again: %s", strerror(errno));
	snprintf(want, sizeof(want), "zdtm-fdhold %llu\nafter\n", (unsigned long long)st.st_ino);
	if (strcmp(buf, want))
		fail("the file of fd 8 holds '%s', want '%s'", buf, want);
	pass();
}
