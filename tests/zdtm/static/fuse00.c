// SPDX-License-Identifier: LGPL-2.1-or-later
/* fuse00: a FUSE filesystem served by a thread of the test survives with its
 * server. The thread speaks the /dev/fuse protocol itself and serves one
 * file, "data": a header with a counter of reads ("reads=%08u\n") and a fixed
 * pattern after it (direct I/O: every read reaches the server). The fs is
 * mounted (fuse.zdtm, allow_other, max_read) and its file bound on another
 * path, like libvirt's NAME.fuse/meminfo on the container's /proc/meminfo. A
 * child reads it before the dump and again through the bind after the
 * restore; the test checks every byte through both paths, that the counter
 * goes on from where it was (the restored server thread serves the new
 * connection), stat() of the root and the file, and that mountinfo shows
 * the same fuse mount and bind. Without a mount namespace from the harness
 * (run.sh --ns-mnt) it makes one of its own. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
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

#define MNT "fuse00.mnt"
#define BIND "fuse00.bind"
#define FILE_SIZE 8192
#define HDR_LEN 15		/* "reads=%08u\n" */
#define BUF_SIZE (FILE_SIZE + 2 * 65536)	/* >= 8192 and >= max_write + headers */
#define TIME_S 1000000000

static int fuse_fd = -1;
static unsigned reads;		/* the server's counter, in the restored memory */
static unsigned requests;

static unsigned char pattern(size_t off)
{
	return (unsigned char)('a' + (off * 7 + off / 13) % 26);
}

static void fill_attr(struct fuse_attr *a, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->atime = a->mtime = a->ctime = TIME_S;
	a->blksize = 4096;
	if (ino == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	} else {
		a->mode = S_IFREG | 0444;
		a->nlink = 1;
		a->size = FILE_SIZE;
		a->blocks = FILE_SIZE / 512;
	}
}

static void reply(uint64_t unique, int error, const void *data, size_t len)
{
	static unsigned char out[sizeof(struct fuse_out_header) + FILE_SIZE + 64];
	struct fuse_out_header *h = (void *)out;

	h->unique = unique;
	h->error = error;
	h->len = sizeof(*h) + (error ? 0 : len);
	if (!error && len)
		memcpy(out + sizeof(*h), data, len);
	if (write(fuse_fd, out, h->len) != (ssize_t)h->len && errno != ENOENT)
		test_msg("server: reply to %llu: %s\n", (unsigned long long)unique, strerror(errno));
}

static void serve(struct fuse_in_header *in, void *arg)
{
	switch (in->opcode) {
	case FUSE_INIT: {
		struct fuse_init_in *i = arg;
		struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION, .max_write = 65536 };

		o.minor = i->minor < FUSE_KERNEL_MINOR_VERSION ? i->minor : FUSE_KERNEL_MINOR_VERSION;
		o.max_readahead = i->max_readahead;
		reply(in->unique, 0, &o, sizeof(o));
		break;
	}
	case FUSE_LOOKUP: {
		struct fuse_entry_out e = { 0 };

		if (in->nodeid != FUSE_ROOT_ID || strcmp(arg, "data")) {
			reply(in->unique, -ENOENT, NULL, 0);
			break;
		}
		e.nodeid = 2;
		e.generation = 1;
		fill_attr(&e.attr, 2);
		reply(in->unique, 0, &e, sizeof(e));
		break;
	}
	case FUSE_GETATTR: {
		struct fuse_attr_out a = { 0 };

		if (in->nodeid != FUSE_ROOT_ID && in->nodeid != 2) {
			reply(in->unique, -ENOENT, NULL, 0);
			break;
		}
		fill_attr(&a.attr, in->nodeid);
		reply(in->unique, 0, &a, sizeof(a));
		break;
	}
	case FUSE_OPEN:
	case FUSE_OPENDIR: {
		struct fuse_open_out o = { .open_flags = in->opcode == FUSE_OPEN ? FOPEN_DIRECT_IO : 0 };

		reply(in->unique, 0, &o, sizeof(o));
		break;
	}
	case FUSE_READ: {
		struct fuse_read_in *r = arg;
		static char data[FILE_SIZE];
		size_t len = 0;

		if (r->offset < FILE_SIZE) {
			char hdr[HDR_LEN + 1];

			if (r->offset == 0)
				reads++;
			snprintf(hdr, sizeof(hdr), "reads=%08u\n", reads);
			memcpy(data, hdr, HDR_LEN);
			for (size_t k = HDR_LEN; k < FILE_SIZE; k++)
				data[k] = (char)pattern(k);
			len = FILE_SIZE - r->offset < r->size ? FILE_SIZE - r->offset : r->size;
		}
		reply(in->unique, 0, data + (len ? r->offset : 0), len);
		break;
	}
	case FUSE_READDIR:
		reply(in->unique, 0, NULL, 0);
		break;
	case FUSE_STATFS: {
		struct fuse_statfs_out s = { .st = { .bsize = 4096, .namelen = 255, .frsize = 4096 } };

		reply(in->unique, 0, &s, sizeof(s));
		break;
	}
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FLUSH:
		reply(in->unique, 0, NULL, 0);
		break;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		break;	/* no reply */
	default:
		reply(in->unique, -ENOSYS, NULL, 0);
	}
}

static void *server(void *a)
{
	static unsigned char buf[BUF_SIZE];
	sigset_t all;

	(void)a;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		ssize_t n = read(fuse_fd, buf, sizeof(buf));
		struct fuse_in_header *in = (void *)buf;

		if (n < 0 && (errno == EINTR || errno == ENOENT || errno == EAGAIN))
			continue;
		if (n < 0) {
			if (errno != ENODEV)
				test_msg("server: read /dev/fuse: %s\n", strerror(errno));
			return NULL;
		}
		if ((size_t)n < sizeof(*in) || in->len != (uint32_t)n) {
			test_msg("server: a request of %zd bytes\n", n);
			continue;
		}
		requests++;
		serve(in, buf + sizeof(*in));
	}
	return NULL;
}

/* Read path whole; check every byte; return the counter it showed. */
static unsigned read_data(const char *path)
{
	static char buf[FILE_SIZE + 1];
	unsigned v;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != FILE_SIZE)
		fail("%s: read %zd bytes (%s), expected %d", path, n, n < 0 ? strerror(errno) : "short",
		     FILE_SIZE);
	if (sscanf(buf, "reads=%08u\n", &v) != 1 || buf[HDR_LEN - 1] != '\n')
		fail("%s: header '%.*s' is not the server's", path, HDR_LEN, buf);
	for (size_t k = HDR_LEN; k < FILE_SIZE; k++)
		if ((unsigned char)buf[k] != pattern(k))
			fail("%s: byte %zu is 0x%02x, expected 0x%02x", path, k, (unsigned char)buf[k],
			     pattern(k));
	return v;
}

struct st_snap {
	ino_t ino;
	mode_t mode;
	nlink_t nlink;
	uid_t uid;
	gid_t gid;
	off_t size;
	time_t mtime;
};

static void snap(const char *path, struct st_snap *s, dev_t *dev)
{
	struct stat st;

	memset(s, 0, sizeof(*s));	/* compared with memcmp(): no stray padding */
	if (stat(path, &st) < 0)
		fail("stat %s: %s", path, strerror(errno));
	s->ino = st.st_ino;
	s->mode = st.st_mode;
	s->nlink = st.st_nlink;
	s->uid = st.st_uid;
	s->gid = st.st_gid;
	s->size = st.st_size;
	s->mtime = st.st_mtime;
	if (dev)
		*dev = st.st_dev;
}

static void snap_check(const char *path, const struct st_snap *was, dev_t *dev)
{
	struct st_snap now;

	snap(path, &now, dev);
	if (memcmp(&now, was, sizeof(now)))
		fail("stat %s: ino %lu mode 0%o nlink %lu %u:%u size %ld mtime %ld; was ino %lu mode 0%o nlink %lu %u:%u size %ld mtime %ld",
		     path, (unsigned long)now.ino, now.mode, (unsigned long)now.nlink, now.uid, now.gid,
		     (long)now.size, (long)now.mtime, (unsigned long)was->ino, was->mode,
		     (unsigned long)was->nlink, was->uid, was->gid, (long)was->size, (long)was->mtime);
}

/* The mountinfo line of mountpoint mp without ids, device and optional fields. */
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

/* Whether our "/" is a directory bound as the root of a container (its
 * mountinfo root is not "/"): then the mount namespace is already the
 * container's, the tree's own (run.sh --ct). */
static int pivoted(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096], root[1024], mnt[1024];
	int ret = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*u %*u %*u:%*u %1023s %1023s", root, mnt) == 2 && !strcmp(mnt, "/"))
			ret = strcmp(root, "/") != 0;
	if (f)
		fclose(f);
	return ret;
}

int main(int argc, char **argv)
{
	char cwd[PATH_MAX], mp[PATH_MAX + 16], bp[PATH_MAX + 16], opts[256];
	char mi_mnt[8192], mi_bind[8192], now[8192];

	_Static_assert(sizeof(mi_mnt) > 1024 * 2 + 256 + 4096, "mountinfo line");
	struct st_snap root_st, file_st, bind_st;
	int go[2], rep[2], status;
	unsigned c_child, c0, c1, c2, c3, before;
	dev_t d_file, d_bind;
	pthread_t th;
	pid_t child;

	test_init(argc, argv);
	if ((!getenv("ZDTM_NEWNS") || strcmp(getenv("ZDTM_NEWNS"), "2")) && !pivoted()) {
		/* a mount namespace of our own: the fuse mount must be the tree's */
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			skip("cannot make a mount namespace of its own: %s", strerror(errno));
	}
	fuse_fd = open("/dev/fuse", O_RDWR);
	if (fuse_fd < 0 && errno == ENOENT) {
		/* a container's /dev may lack it: a node of our own */
		if (mknod("fuse00.dev", S_IFCHR | 0600, makedev(10, 229)) < 0 && errno != EEXIST)
			skip("no /dev/fuse and cannot make one: %s", strerror(errno));
		fuse_fd = open("fuse00.dev", O_RDWR);
	}
	if (fuse_fd < 0)
		skip("cannot open /dev/fuse: %s", strerror(errno));
	if (!getcwd(cwd, sizeof(cwd)))
		fail("getcwd: %s", strerror(errno));
	snprintf(mp, sizeof(mp), "%s/" MNT, cwd);
	snprintf(bp, sizeof(bp), "%s/" BIND, cwd);
	if (mkdir(MNT, 0755) < 0 && errno != EEXIST)
		fail("mkdir %s: %s", MNT, strerror(errno));
	close(open(BIND, O_WRONLY | O_CREAT, 0644));
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40755,user_id=0,group_id=0,allow_other,max_read=65536",
		 fuse_fd);
	if (mount("zdtm-fuse", MNT, "fuse.zdtm", MS_NOSUID | MS_NODEV, opts) < 0)
		skip("cannot mount fuse (%s): %s", opts, strerror(errno));
	if (pthread_create(&th, NULL, server, NULL))
		fail("pthread_create");
	c0 = read_data(MNT "/data");
	if (mount(MNT "/data", BIND, NULL, MS_BIND, NULL) < 0)
		fail("bind %s/data on %s: %s", MNT, BIND, strerror(errno));
	if (pipe(go) < 0 || pipe(rep) < 0)
		fail("pipe: %s", strerror(errno));
	child = fork();
	if (child < 0)
		fail("fork: %s", strerror(errno));
	if (child == 0) {
		unsigned v;
		char c;

		v = read_data(MNT "/data");
		if (write(rep[1], &v, sizeof(v)) != sizeof(v))
			_exit(1);
		/* after the restore: through the bind */
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		v = read_data(BIND);
		_exit(write(rep[1], &v, sizeof(v)) == sizeof(v) ? 0 : 1);
	}
	if (read(rep[0], &c_child, sizeof(c_child)) != sizeof(c_child))
		fail("the child did not read the file");
	c1 = read_data(BIND);
	if (c_child != c0 + 1 || c1 != c0 + 2)
		fail("counters before the dump: %u, child %u, bind %u", c0, c_child, c1);
	snap(MNT, &root_st, NULL);
	snap(MNT "/data", &file_st, NULL);
	snap(BIND, &bind_st, NULL);
	mountinfo_of(mp, mi_mnt, sizeof(mi_mnt));
	mountinfo_of(bp, mi_bind, sizeof(mi_bind));
	before = requests;

	test_daemon();
	test_waitsig();

	/* the server goes on: new reads get the next counter values */
	c2 = read_data(MNT "/data");
	if (c2 != c1 + 1)
		fail("%s after the restore: counter %u, expected %u (the server's state was %u)", MNT "/data",
		     c2, c1 + 1, c1);
	if (write(go[1], "g", 1) != 1)
		fail("pipe: %s", strerror(errno));
	if (read(rep[0], &c3, sizeof(c3)) != sizeof(c3))
		fail("the child did not read %s after the restore", BIND);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed (status 0x%x)", status);
	if (c3 != c2 + 1)
		fail("child through %s: counter %u, expected %u", BIND, c3, c2 + 1);
	if (read_data(BIND) != c3 + 1)
		fail("%s: the counter did not go on", BIND);
	if (requests <= before)
		fail("the server thread saw no request after the restore");
	snap_check(MNT, &root_st, NULL);
	snap_check(MNT "/data", &file_st, &d_file);
	snap_check(BIND, &bind_st, &d_bind);
	if (d_file != d_bind)
		fail("%s and %s are on devices %u:%u and %u:%u: not one superblock", MNT "/data", BIND,
		     major(d_file), minor(d_file), major(d_bind), minor(d_bind));
	mountinfo_of(mp, now, sizeof(now));
	if (strcmp(now, mi_mnt))
		fail("mountinfo of %s: '%s', was '%s'", MNT, now, mi_mnt);
	mountinfo_of(bp, now, sizeof(now));
	if (strcmp(now, mi_bind))
		fail("mountinfo of %s: '%s', was '%s'", BIND, now, mi_bind);
	pass();
}
