// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A sealed memfd: 20000 bytes of data in a 32 KiB file, seals F_SEAL_SHRINK
 * and F_SEAL_GROW, an offset; plus a second open of the same memfd through
 * /proc/self/fd (same inode, separate offset) and an unsealed MFD_CLOEXEC
 * memfd. After C/R name, seals, size, contents, offsets and sharing hold.
 */
#include <sys/mman.h>
#include "fdutil.h"

#define SIZE 32768
#define DATA 20000

static void check_link(int fd, const char *want)
{
	char path[64], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		fail("readlink");
	link[n] = '\0';
	if (strcmp(link, want))
		fail("fd %d is '%s', want '%s'", fd, link, want);
}

int main(int argc, char **argv)
{
	int mfd, re, other;
	struct stat a, b;
	char path[64], buf[SIZE], want[SIZE];

	test_init(argc, argv);
	mfd = memfd_create("zdtm-memfd00", MFD_ALLOW_SEALING);
	other = memfd_create("zdtm-other", MFD_CLOEXEC);
	if (mfd < 0 || other < 0)
		skip("memfd_create: %s", strerror(errno));
	write_pattern(mfd, DATA, 300, "fill");
	write_pattern(other, 100, 301, "fill other");
	if (ftruncate(mfd, SIZE))
		fail("ftruncate");
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		fail("F_ADD_SEALS");
	lseek(mfd, 777, SEEK_SET);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	re = open(path, O_RDONLY);
	if (re < 0)
		fail("reopen memfd");
	lseek(re, 4096, SEEK_SET);

	test_daemon();
	test_waitsig();

	check_link(mfd, "/memfd:zdtm-memfd00 (deleted)");
	check_link(re, "/memfd:zdtm-memfd00 (deleted)");
	check_link(other, "/memfd:zdtm-other (deleted)");
	if (fcntl(mfd, F_GET_SEALS) != (F_SEAL_SHRINK | F_SEAL_GROW))
		fail("seals %#x, want %#x", fcntl(mfd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);
	if (fcntl(other, F_GET_SEALS) != F_SEAL_SEAL)
		fail("unsealable memfd has seals %#x", fcntl(other, F_GET_SEALS));
	CHECK(fcntl(other, F_GETFD) == FD_CLOEXEC, "other lost FD_CLOEXEC");
	CHECK(fcntl(mfd, F_GETFD) == 0, "mfd got FD_CLOEXEC");
	if (fstat(mfd, &a) || fstat(re, &b))
		fail("fstat");
	CHECK(a.st_size == SIZE, "size %lld", (long long)a.st_size);
	CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "reopened fd is another memfd now");
	check_other_file(mfd, re, "reopen");
	check_pos(mfd, 777, "memfd");
	check_pos(re, 4096, "reopened memfd");
	CHECK((fcntl(re, F_GETFL) & O_ACCMODE) == O_RDONLY, "reopen access mode");

	datagen(want, DATA, 300);
	memset(want + DATA, 0, SIZE - DATA);
	if (pread(mfd, buf, SIZE, 0) != SIZE || memcmp(buf, want, SIZE))
		fail("contents");
	if (ftruncate(mfd, SIZE - 4096) != -1 || errno != EPERM)
		fail("F_SEAL_SHRINK not enforced");
	if (ftruncate(mfd, SIZE + 4096) != -1 || errno != EPERM)
		fail("F_SEAL_GROW not enforced");
	if (pwrite(mfd, "zz", 2, SIZE - 2) != 2)
		fail("write inside the sealed size");
	if (pread(re, buf, 2, SIZE - 2) != 2 || memcmp(buf, "zz", 2))
		fail("write not visible through the reopened fd");
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE))
		fail("cannot add F_SEAL_WRITE");
	if (pwrite(mfd, "q", 1, 0) != -1 || errno != EPERM)
		fail("F_SEAL_WRITE not enforced");
	if (pread(other, buf, 100, 0) != 100 || datachk(buf, 100, 301))
		fail("other contents");
	pass();
}
