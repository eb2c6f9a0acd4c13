// SPDX-License-Identifier: LGPL-2.1-or-later
/* mnt_tmpfs00: files in a tmpfs of the tree's own mount namespace survive:
 * contents, modes, owners, symlinks, device nodes, fifos, times; a read-only
 * tmpfs stays read-only. Needs ZDTM_NEWNS=2 (run.sh --ns-mnt). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "zdtmtst.h"

#define D "mnt_tmpfs00.d"
#define RO "mnt_tmpfs00.ro"
#define BIG (200 * 1024)

static void check_file(const char *p, mode_t type, mode_t perm, uid_t uid, gid_t gid)
{
	struct stat st;

	if (lstat(p, &st) < 0)
		fail("%s: %s", p, strerror(errno));
	if ((st.st_mode & S_IFMT) != type || (st.st_mode & 07777) != perm)
		fail("%s: mode 0%o, expected 0%o", p, st.st_mode, type | perm);
	if (st.st_uid != uid || st.st_gid != gid)
		fail("%s: owner %d:%d, expected %d:%d", p, st.st_uid, st.st_gid, uid, gid);
}

int main(int argc, char **argv)
{
	static char big[BIG], back[BIG];
	struct timespec ts[2] = { { 1000000000, 5 }, { 1100000000, 7 } };
	char buf[64];
	struct stat st;
	int fd;

	test_init(argc, argv);
	if (!getenv("ZDTM_NEWNS") || strcmp(getenv("ZDTM_NEWNS"), "2"))
		skip("needs a mount namespace of its own (run.sh --ns-mnt)");
	umask(0);
	if ((mkdir(D, 0755) < 0 && errno != EEXIST) || mount("t00", D, "tmpfs", MS_NODEV, "mode=711,size=4m") < 0)
		fail("mount tmpfs: %s", strerror(errno));
	fd = open(D "/a", O_WRONLY | O_CREAT, 0640);
	if (fd < 0 || write(fd, "hello tmpfs", 11) != 11 || close(fd) < 0)
		fail("file a: %s", strerror(errno));
	if (chown(D "/a", 1000, 1001) < 0 || utimensat(AT_FDCWD, D "/a", ts, 0) < 0)
		fail("chown/utimes a: %s", strerror(errno));
	if (mkdir(D "/d", 0700) < 0 || mkdir(D "/d/e", 0755) < 0)
		fail("mkdir: %s", strerror(errno));
	datagen(big, BIG, 42);
	fd = open(D "/d/e/big", O_WRONLY | O_CREAT, 0604);
	if (fd < 0 || write(fd, big, BIG) != BIG || close(fd) < 0)
		fail("file big: %s", strerror(errno));
	if (symlink("../a", D "/d/l") < 0 || mkfifo(D "/f", 0620) < 0 ||
	    mknod(D "/null", S_IFCHR | 0666, makedev(1, 3)) < 0)
		fail("symlink/fifo/mknod: %s", strerror(errno));
	if (utimensat(AT_FDCWD, D "/d", ts, 0) < 0)
		fail("utimes d: %s", strerror(errno));
	if ((mkdir(RO, 0755) < 0 && errno != EEXIST) || mount("t00ro", RO, "tmpfs", 0, "size=1m") < 0)
		fail("mount ro tmpfs: %s", strerror(errno));
	fd = open(RO "/x", O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) < 0)
		fail("file x: %s", strerror(errno));
	if (mount(NULL, RO, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		fail("remount ro: %s", strerror(errno));

	test_daemon();
	test_waitsig();

	check_file(D, S_IFDIR, 0711, 0, 0);
	check_file(D "/a", S_IFREG, 0640, 1000, 1001);
	check_file(D "/d", S_IFDIR, 0700, 0, 0);
	check_file(D "/d/e/big", S_IFREG, 0604, 0, 0);
	check_file(D "/d/l", S_IFLNK, 0777, 0, 0);
	check_file(D "/f", S_IFIFO, 0620, 0, 0);
	check_file(D "/null", S_IFCHR, 0666, 0, 0);
	if (stat(D "/a", &st) < 0 || st.st_mtim.tv_sec != 1100000000 || st.st_mtim.tv_nsec != 7)
		fail("a: mtime %ld.%09ld", (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	if (stat(D "/d", &st) < 0 || st.st_mtim.tv_sec != 1100000000)
		fail("d: mtime %ld", (long)st.st_mtim.tv_sec);
	if (stat(D "/null", &st) < 0 || st.st_rdev != makedev(1, 3))
		fail("null: rdev 0x%lx", (unsigned long)st.st_rdev);
	memset(buf, 0, sizeof(buf));
	if (test_read_file(D "/d/l", buf, sizeof(buf)) != 11 || strcmp(buf, "hello tmpfs"))
		fail("a through d/l: '%s'", buf);
	fd = open(D "/d/e/big", O_RDONLY);
	if (fd < 0 || read(fd, back, BIG) != BIG || datachk(back, BIG, 42))
		fail("big: contents differ");
	close(fd);
	memset(buf, 0, sizeof(buf));
	if (test_read_file(RO "/x", buf, sizeof(buf)) != 1 || buf[0] != 'x')
		fail("x: '%s'", buf);
	fd = open(RO "/y", O_WRONLY | O_CREAT, 0644);
	if (fd >= 0 || errno != EROFS)
		fail("%s is writable again (%s)", RO, fd >= 0 ? "created y" : strerror(errno));
	pass();
}
