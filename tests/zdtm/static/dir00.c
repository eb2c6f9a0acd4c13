// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A directory fd part-way through getdents64, plus the cwd changed with
 * fchdir. After C/R the remaining entries continue where reading stopped
 * (every entry exactly once overall) and the cwd is the same directory.
 */
#include <dirent.h>
#include "fdutil.h"

#define DNAME "dir00.d"
#define NFILES 60

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int seen[NFILES + 2];	/* + "." and ".." */

static int note(const char *name)
{
	int idx;

	if (!strcmp(name, "."))
		idx = NFILES;
	else if (!strcmp(name, ".."))
		idx = NFILES + 1;
	else if (sscanf(name, "f%d", &idx) != 1 || idx < 0 || idx >= NFILES)
		fail("unexpected entry '%s'", name);
	if (seen[idx]++)
		fail("entry '%s' returned twice", name);
	return 1;
}

/* read one getdents64 batch; returns number of entries */
static int batch(int fd, size_t bufsz)
{
	char buf[4096];
	long n = syscall(SYS_getdents64, fd, buf, bufsz);
	int cnt = 0;

	if (n < 0)
		fail("getdents64");
	for (long off = 0; off < n;) {
		struct linux_dirent64 *d = (void *)(buf + off);

		cnt += note(d->d_name);
		off += d->d_reclen;
	}
	return cnt;
}

int main(int argc, char **argv)
{
	struct stat dst, cst;
	struct fd_snap s;
	int dfd, got = 0, n;
	char name[32];

	test_init(argc, argv);

	if (mkdir(DNAME, 0755) && errno != EEXIST)
		fail("mkdir");
	for (int i = 0; i < NFILES; i++) {
		int fd;

		snprintf(name, sizeof(name), DNAME "/f%d", i);
		fd = open(name, O_CREAT | O_WRONLY, 0600);
		if (fd < 0)
			fail("create %s", name);
		close(fd);
	}
	dfd = open(DNAME, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		fail("open dir");
	/* a small buffer: a few entries per call */
	got += batch(dfd, 200);
	got += batch(dfd, 200);
	if (got == 0 || got >= NFILES)
		fail("first batches returned %d entries", got);
	if (fchdir(dfd))
		fail("fchdir");
	fd_snap(dfd, &s, "dir");

	test_daemon();
	test_waitsig();

	fd_snap_check(dfd, &s, true, "dir");
	if (stat(".", &cst) || fstat(dfd, &dst) || cst.st_ino != dst.st_ino || cst.st_dev != dst.st_dev)
		fail("cwd is not the fchdir'ed directory");
	if (access("f0", F_OK))
		fail("relative lookup in cwd");
	while ((n = batch(dfd, 4096)) > 0)
		got += n;
	if (got != NFILES + 2)
		fail("%d entries in total, want %d", got, NFILES + 2);
	for (int i = 0; i < NFILES + 2; i++)
		CHECK(seen[i] == 1, "entry %d seen %d times", i, seen[i]);
	pass();
}
