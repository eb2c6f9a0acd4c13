// SPDX-License-Identifier: LGPL-2.1-or-later
/* fuse01: a FUSE filesystem served by libfuse3 survives with its server, the
 * way libvirt's controller serves the container's /proc/meminfo: the
 * high-level API (fuse_new, fuse_mount with allow_other and an fsname,
 * fuse_loop in a thread of its own), getattr/readdir/open/read, a file
 * "meminfo" opened with direct_io and nonseekable, bound on another path.
 * Its content is a counter of reads ("reads=%08u\n") and a fixed pattern.
 * After the restore the test checks every byte through both paths, that the
 * counter goes on (libfuse's loop serves the new connection without a second
 * INIT: lxc-cr answered it), stat() of the root and the file, readdir, and
 * the mountinfo lines. Without libfuse3 at build time it skips. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef HAVE_FUSE3
int main(int argc, char **argv)
{
	test_init(argc, argv);
	skip("built without libfuse3 (apt-get install libfuse3-dev, then configure again)");
}
#else
#define FUSE_USE_VERSION 31
#include <fuse.h>

#define MNT "fuse01.mnt"
#define BIND "fuse01.meminfo"
#define FILE_SIZE 6000
#define HDR_LEN 15		/* "reads=%08u\n" */

static unsigned reads;		/* the server's counter, in the restored memory */
static struct fuse *fuse;

static unsigned char pattern(size_t off)
{
	return (unsigned char)('A' + (off * 5 + off / 17) % 26);
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	st->st_mtime = st->st_ctime = st->st_atime = 1000000000;
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else if (!strcmp(path, "/meminfo")) {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = FILE_SIZE;
	} else {
		return -ENOENT;
	}
	return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/"))
		return -ENOENT;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	filler(buf, "meminfo", NULL, 0, 0);
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/meminfo"))
		return -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	char hdr[HDR_LEN + 1];
	size_t n = 0;

	(void)fi;
	if (strcmp(path, "/meminfo"))
		return -ENOENT;
	if (off == 0)
		reads++;
	snprintf(hdr, sizeof(hdr), "reads=%08u\n", reads);
	for (size_t k = (size_t)off; k < FILE_SIZE && n < size; k++, n++)
		buf[n] = k < HDR_LEN ? hdr[k] : (char)pattern(k);
	return (int)n;
}

static const struct fuse_operations ops = {
	.getattr = fs_getattr,
	.readdir = fs_readdir,
	.open = fs_open,
	.read = fs_read,
};

static void *loop(void *a)
{
	sigset_t all;

	(void)a;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (fuse_loop(fuse) < 0)
		test_msg("fuse_loop failed\n");
	return NULL;
}

static unsigned read_data(const char *path)
{
	static char buf[FILE_SIZE + 1];
	unsigned v;
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	/* nonseekable: read it in pieces, as a reader of /proc/meminfo would */
	while ((n = read(fd, buf + got, sizeof(buf) - got)) > 0)
		got += n;
	close(fd);
	if (n < 0 || got != FILE_SIZE)
		fail("%s: read %zd bytes (%s), expected %d", path, got, n < 0 ? strerror(errno) : "short",
		     FILE_SIZE);
	if (sscanf(buf, "reads=%08u\n", &v) != 1 || buf[HDR_LEN - 1] != '\n')
		fail("%s: header '%.*s' is not the server's", path, HDR_LEN, buf);
	for (size_t k = HDR_LEN; k < FILE_SIZE; k++)
		if ((unsigned char)buf[k] != pattern(k))
			fail("%s: byte %zu is 0x%02x, expected 0x%02x", path, k, (unsigned char)buf[k],
			     pattern(k));
	return v;
}

static void stat_line(const char *path, char *out, size_t len)
{
	struct stat st;

	if (stat(path, &st) < 0)
		fail("stat %s: %s", path, strerror(errno));
	snprintf(out, len, "ino %lu mode 0%o nlink %lu %u:%u size %ld mtime %ld", (unsigned long)st.st_ino,
		 st.st_mode, (unsigned long)st.st_nlink, st.st_uid, st.st_gid, (long)st.st_size,
		 (long)st.st_mtime);
}

static void mountinfo_of(const char *mp, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];

	out[0] = '\0';
	if (!f)
		fail("mountinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char root[1024], mnt[1024], opts[256];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*u %*u %*u:%*u %1023s %1023s %255s", root, mnt, opts) != 3 ||
		    strcmp(mnt, mp))
			continue;
		snprintf(out, len, "%s %s %s%s", root, mnt, opts, sep);
	}
	fclose(f);
	if (!out[0])
		fail("mountinfo: no mount on %s", mp);
}

static int pivoted(void)
{
	char root[1024] = "/";

	mountinfo_of("/", root, sizeof(root));
	return strncmp(root, "/ ", 2) != 0;
}

static void readdir_check(void)
{
	DIR *d = opendir(MNT);
	struct dirent *e;
	int seen = 0;

	if (!d)
		fail("opendir %s: %s", MNT, strerror(errno));
	while ((e = readdir(d)))
		seen |= !strcmp(e->d_name, "meminfo");
	closedir(d);
	if (!seen)
		fail("readdir %s: no meminfo", MNT);
}

int main(int argc, char **argv)
{
	char *fargv[] = { "zdtm-fuse01", "-oallow_other", "-ofsname=zdtm", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	char cwd[1024], mp[1100], bp[1100], mi_mnt[8192], mi_bind[8192], now[8192];
	char st_root[256], st_file[256], st_bind[256], st_now[256];
	unsigned c0, c1, c2, c3, c_child;
	int go[2], rep[2], status;
	pthread_t th;
	pid_t child;

	test_init(argc, argv);
	if ((!getenv("ZDTM_NEWNS") || strcmp(getenv("ZDTM_NEWNS"), "2")) && !pivoted()) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			skip("cannot make a mount namespace of its own: %s", strerror(errno));
	}
	/* libfuse opens /dev/fuse by that name: a container's /dev may lack it */
	if (access("/dev/fuse", F_OK) < 0 && mknod("/dev/fuse", S_IFCHR | 0666, makedev(10, 229)) < 0)
		skip("no /dev/fuse and cannot make one: %s", strerror(errno));
	if (!getcwd(cwd, sizeof(cwd)))
		fail("getcwd: %s", strerror(errno));
	snprintf(mp, sizeof(mp), "%s/" MNT, cwd);
	snprintf(bp, sizeof(bp), "%s/" BIND, cwd);
	if (mkdir(MNT, 0755) < 0 && errno != EEXIST)
		fail("mkdir %s: %s", MNT, strerror(errno));
	close(open(BIND, O_WRONLY | O_CREAT, 0644));
	fuse = fuse_new(&args, &ops, sizeof(ops), NULL);
	if (!fuse)
		fail("fuse_new failed");
	if (fuse_mount(fuse, MNT) < 0)
		skip("libfuse cannot mount %s (see its message above)", MNT);
	if (pthread_create(&th, NULL, loop, NULL))
		fail("pthread_create");
	c0 = read_data(MNT "/meminfo");
	if (mount(MNT "/meminfo", BIND, NULL, MS_BIND, NULL) < 0)
		fail("bind %s/meminfo on %s: %s", MNT, BIND, strerror(errno));
	if (pipe(go) < 0 || pipe(rep) < 0)
		fail("pipe: %s", strerror(errno));
	child = fork();
	if (child < 0)
		fail("fork: %s", strerror(errno));
	if (child == 0) {
		unsigned v = read_data(BIND);
		char c;

		if (write(rep[1], &v, sizeof(v)) != sizeof(v) || read(go[0], &c, 1) != 1)
			_exit(1);
		v = read_data(BIND);
		_exit(write(rep[1], &v, sizeof(v)) == sizeof(v) ? 0 : 1);
	}
	if (read(rep[0], &c_child, sizeof(c_child)) != sizeof(c_child))
		fail("the child did not read %s", BIND);
	c1 = read_data(MNT "/meminfo");
	if (c_child != c0 + 1 || c1 != c0 + 2)
		fail("counters before the dump: %u, child %u, then %u", c0, c_child, c1);
	readdir_check();
	stat_line(MNT, st_root, sizeof(st_root));
	stat_line(MNT "/meminfo", st_file, sizeof(st_file));
	stat_line(BIND, st_bind, sizeof(st_bind));
	mountinfo_of(mp, mi_mnt, sizeof(mi_mnt));
	mountinfo_of(bp, mi_bind, sizeof(mi_bind));

	test_daemon();
	test_waitsig();

	c2 = read_data(BIND);
	if (c2 != c1 + 1)
		fail("%s after the restore: counter %u, expected %u", BIND, c2, c1 + 1);
	if (write(go[1], "g", 1) != 1)
		fail("pipe: %s", strerror(errno));
	if (read(rep[0], &c3, sizeof(c3)) != sizeof(c3))
		fail("the child did not read %s after the restore", BIND);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed (status 0x%x)", status);
	if (c3 != c2 + 1)
		fail("child through %s: counter %u, expected %u", BIND, c3, c2 + 1);
	if (read_data(MNT "/meminfo") != c3 + 1)
		fail("%s/meminfo: the counter did not go on", MNT);
	readdir_check();
	stat_line(MNT, st_now, sizeof(st_now));
	if (strcmp(st_now, st_root))
		fail("stat %s: %s; was %s", MNT, st_now, st_root);
	stat_line(MNT "/meminfo", st_now, sizeof(st_now));
	if (strcmp(st_now, st_file))
		fail("stat %s/meminfo: %s; was %s", MNT, st_now, st_file);
	stat_line(BIND, st_now, sizeof(st_now));
	if (strcmp(st_now, st_bind))
		fail("stat %s: %s; was %s", BIND, st_now, st_bind);
	mountinfo_of(mp, now, sizeof(now));
	if (strcmp(now, mi_mnt))
		fail("mountinfo of %s: '%s', was '%s'", MNT, now, mi_mnt);
	mountinfo_of(bp, now, sizeof(now));
	if (strcmp(now, mi_bind))
		fail("mountinfo of %s: '%s', was '%s'", BIND, now, mi_bind);
	pass();
}
#endif
