// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access modes: O_RDONLY, O_WRONLY, O_RDWR and O_PATH on one file, and an
 * O_PATH on a directory. After C/R each fd allows exactly what it allowed.
 */
#include "fdutil.h"

#define FNAME "file03.data"
#define DNAME "file03.dir"

int main(int argc, char **argv)
{
	int ro, wo, rw, pa, pd;
	struct fd_snap s[5];
	char buf[16];
	char path[64], link[256];
	ssize_t n;

	test_init(argc, argv);

	rw = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (rw < 0 || write(rw, "0123456789", 10) != 10)
		fail("create " FNAME);
	ro = open(FNAME, O_RDONLY);
	wo = open(FNAME, O_WRONLY);
	pa = open(FNAME, O_PATH);
	if (mkdir(DNAME, 0700) && errno != EEXIST)
		fail("mkdir");
	pd = open(DNAME, O_PATH | O_DIRECTORY);
	if (ro < 0 || wo < 0 || pa < 0 || pd < 0)
		fail("open");
	lseek(ro, 3, SEEK_SET);
	lseek(wo, 5, SEEK_SET);
	fd_snap(ro, &s[0], "ro");
	fd_snap(wo, &s[1], "wo");
	fd_snap(rw, &s[2], "rw");
	fd_snap(pa, &s[3], "path");
	fd_snap(pd, &s[4], "dirpath");

	test_daemon();
	test_waitsig();

	fd_snap_check(ro, &s[0], true, "ro");
	fd_snap_check(wo, &s[1], true, "wo");
	fd_snap_check(rw, &s[2], true, "rw");
	fd_snap_check(pa, &s[3], true, "path");
	fd_snap_check(pd, &s[4], true, "dirpath");
	CHECK((fcntl(ro, F_GETFL) & O_ACCMODE) == O_RDONLY, "ro mode");
	CHECK((fcntl(wo, F_GETFL) & O_ACCMODE) == O_WRONLY, "wo mode");
	CHECK((fcntl(rw, F_GETFL) & O_ACCMODE) == O_RDWR, "rw mode");
	CHECK(fcntl(pa, F_GETFL) & O_PATH, "O_PATH lost on file fd");
	CHECK(fcntl(pd, F_GETFL) & O_PATH, "O_PATH lost on dir fd");

	if (read(ro, buf, 2) != 2 || memcmp(buf, "34", 2))
		fail("read ro");
	if (write(ro, "x", 1) != -1 || errno != EBADF)
		fail("ro is writable");
	if (read(wo, buf, 1) != -1 || errno != EBADF)
		fail("wo is readable");
	if (write(wo, "ab", 2) != 2 || pread(rw, buf, 10, 0) != 10 || memcmp(buf, "01234ab789", 10))
		fail("write wo at offset 5");
	if (read(pa, buf, 1) != -1 || errno != EBADF)
		fail("O_PATH fd is readable");
	if (write(pa, "x", 1) != -1 || errno != EBADF)
		fail("O_PATH fd is writable");

	snprintf(path, sizeof(path), "/proc/self/fd/%d", pa);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		fail("readlink");
	link[n] = '\0';
	if (n < (ssize_t)strlen(FNAME) || strcmp(link + n - strlen(FNAME), FNAME))
		fail("O_PATH fd points to %s", link);
	/* an O_PATH fd can be reopened through /proc and used with *at() */
	{
		int fd = open(path, O_RDONLY);

		if (fd < 0 || read(fd, buf, 3) != 3 || memcmp(buf, "012", 3))
			fail("reopen O_PATH fd");
		close(fd);
		fd = openat(pd, "inner", O_CREAT | O_RDWR, 0600);
		if (fd < 0)
			fail("openat on O_PATH dir fd");
		close(fd);
		if (access(DNAME "/inner", F_OK))
			fail("openat created the file elsewhere");
	}
	pass();
}
