// SPDX-License-Identifier: LGPL-2.1-or-later
/* userns02: a tree in a user namespace with the map of a real container,
 * "0 100000 65536" for uids and gids (the tree's root is no host root), as
 * pid 1 of its PID namespace with a mount namespace owned by it. On a tmpfs it
 * mounts: files and a setgid directory owned by several inner ids with their
 * modes; a SysV and a POSIX message queue owned by inner 1000; a child running
 * as inner 1000. After each restore it checks its maps and setgroups, its ids
 * and the child's, the owners as seen inside (stat) and as the host sees them
 * (translated through /proc/self/uid_map and gid_map), and the queue owners.
 * Built twice: userns02 with setgroups "allow", userns03 with "deny". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <mqueue.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"
#include "nsutil.h"

#ifdef USERNS_SETGROUPS_DENY
#define SETGROUPS "deny"
#define QNAME "/zdtm-userns03"
#define MSGKEY 0x5e57
#else
#define SETGROUPS "allow"
#define QNAME "/zdtm-userns02"
#define MSGKEY 0x5e56
#endif

#define HOST_BASE 100000u
#define MAP "0 100000 65536\n"
#define TMPFS "userns.tmpfs"

struct file_spec {
	const char *name;
	uid_t uid;
	gid_t gid;
	mode_t mode;	/* with the type */
};

static const struct file_spec files[] = {
	{ TMPFS, 0, 0, S_IFDIR | 0755 },
	{ TMPFS "/root", 0, 0, S_IFREG | 0644 },
	{ TMPFS "/u1000", 1000, 1000, S_IFREG | 0640 },
	{ TMPFS "/u2000g3000", 2000, 3000, S_IFREG | 0604 },
	{ TMPFS "/u65535", 65535, 65535, S_IFREG | 0600 },
	{ TMPFS "/sgid", 1000, 2000, S_IFDIR | 02775 },
	{ TMPFS "/sgid/in", 1000, 2000, S_IFREG | 0660 },	/* group from the directory */
	{ TMPFS "/sgid/sub", 1000, 2000, S_IFDIR | 02750 },	/* setgid inherited */
	{ TMPFS "/link", 1001, 1002, S_IFLNK | 0777 },
};
#define NFILES (sizeof(files) / sizeof(files[0]))

/* IPC sysctls other than a new namespace's (msg_max 10, queues_max 256,
 * msg_default 10): only the root of the tree's user namespace may write them */
static const struct {
	const char *name;
	long value;
} sysctls[] = { { "msg_max", 16 }, { "queues_max", 200 }, { "msg_default", 7 } };
#define NSYSCTLS (sizeof(sysctls) / sizeof(sysctls[0]))

static void sysctls_set(void)
{
	char path[64], buf[24];
	int fd, n;

	for (unsigned i = 0; i < NSYSCTLS; i++) {
		snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", sysctls[i].name);
		n = snprintf(buf, sizeof(buf), "%ld", sysctls[i].value);
		fd = open(path, O_WRONLY);
		if (fd < 0 || write(fd, buf, n) != n || close(fd) < 0)
			fail("cannot set %s to %s: %s", path, buf, strerror(errno));
	}
}

static void sysctls_check(void)
{
	char path[64], buf[24];

	for (unsigned i = 0; i < NSYSCTLS; i++) {
		snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", sysctls[i].name);
		if (test_read_file(path, buf, sizeof(buf)) <= 0)
			fail("cannot read %s", path);
		if (strtol(buf, NULL, 10) != sysctls[i].value)
			fail("%s is %ld, expected %ld", path, strtol(buf, NULL, 10), sysctls[i].value);
	}
}

/* Map an inner id to the host's through /proc/self/{uid,gid}_map. */
static unsigned to_host(const char *map, unsigned id)
{
	char path[64], buf[512], *l;
	unsigned in, out, cnt;

	snprintf(path, sizeof(path), "/proc/self/%s", map);
	if (test_read_file(path, buf, sizeof(buf)) <= 0)
		fail("cannot read %s", path);
	for (l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (sscanf(l, "%u %u %u", &in, &out, &cnt) == 3 && id >= in && id - in < cnt)
			return out + (id - in);
	fail("%s does not map %u", path, id);
}

static void check_map(const char *name)
{
	char path[64], buf[256];
	unsigned a, b, c;
	int n;

	snprintf(path, sizeof(path), "/proc/self/%s", name);
	if (test_read_file(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%u %u %u%n", &a, &b, &c, &n) != 3)
		fail("%s: cannot read it", path);
	if (a != 0 || b != HOST_BASE || c != 65536)
		fail("%s is '%u %u %u', expected '0 %u 65536'", path, a, b, c, HOST_BASE);
	if (strspn(buf + n, " \n") != strlen(buf + n))
		fail("%s has more than one line: '%s'", path, buf);
}

static void make_files(void)
{
	int fd;

	if (mkdir(TMPFS, 0755) < 0 && errno != EEXIST)
		fail("mkdir %s: %s", TMPFS, strerror(errno));
	if (mount("userns-tmpfs", TMPFS, "tmpfs", MS_NOSUID, "size=1m,mode=755") < 0)
		fail("mount tmpfs on %s: %s", TMPFS, strerror(errno));
	for (unsigned i = 1; i < NFILES; i++) {
		const struct file_spec *f = &files[i];

		if (!strcmp(f->name, TMPFS "/sgid/in") || !strcmp(f->name, TMPFS "/sgid/sub")) {
			/* created by 1000:1000; the setgid directory gives group 2000 */
			pid_t c = fork();
			int st;

			if (c == 0) {
				if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
					_exit(1);
				umask(0);
				if (S_ISDIR(f->mode))
					_exit(mkdir(f->name, f->mode & 07777) < 0 ? 2 : 0);
				fd = open(f->name, O_CREAT | O_EXCL | O_WRONLY, f->mode & 07777);
				_exit(fd < 0 || write(fd, "in\n", 3) != 3 ? 3 : 0);
			}
			if (c < 0 || waitpid(c, &st, 0) != c || st)
				fail("inner 1000 cannot create %s (status 0x%x)", f->name, c < 0 ? -1 : st);
			continue;
		}
		if (S_ISDIR(f->mode)) {
			if (mkdir(f->name, 0700) < 0)
				fail("mkdir %s: %s", f->name, strerror(errno));
		} else if (S_ISLNK(f->mode)) {
			if (symlink("u1000", f->name) < 0)
				fail("symlink %s: %s", f->name, strerror(errno));
		} else {
			fd = open(f->name, O_CREAT | O_EXCL | O_WRONLY, 0600);
			if (fd < 0 || write(fd, f->name, strlen(f->name)) != (ssize_t)strlen(f->name) || close(fd) < 0)
				fail("create %s: %s", f->name, strerror(errno));
		}
		if (lchown(f->name, f->uid, f->gid) < 0)
			fail("chown %s to %u:%u: %s", f->name, f->uid, f->gid, strerror(errno));
		if (!S_ISLNK(f->mode) && chmod(f->name, f->mode & 07777) < 0)
			fail("chmod %s: %s", f->name, strerror(errno));
	}
}

static void check_files(void)
{
	for (unsigned i = 0; i < NFILES; i++) {
		const struct file_spec *f = &files[i];
		mode_t want = S_ISLNK(f->mode) ? S_IFLNK : f->mode;
		struct stat st;

		if (lstat(f->name, &st) < 0)
			fail("%s is gone: %s", f->name, strerror(errno));
		if (st.st_uid != f->uid || st.st_gid != f->gid)
			fail("%s is owned by %u:%u inside (host %u:%u), expected %u:%u (host %u:%u)", f->name,
			     st.st_uid, st.st_gid, to_host("uid_map", st.st_uid), to_host("gid_map", st.st_gid),
			     f->uid, f->gid, HOST_BASE + f->uid, HOST_BASE + f->gid);
		if (to_host("uid_map", st.st_uid) != HOST_BASE + f->uid ||
		    to_host("gid_map", st.st_gid) != HOST_BASE + f->gid)
			fail("%s is owned by host %u:%u, expected %u:%u", f->name, to_host("uid_map", st.st_uid),
			     to_host("gid_map", st.st_gid), HOST_BASE + f->uid, HOST_BASE + f->gid);
		if ((S_ISLNK(f->mode) && !S_ISLNK(st.st_mode)) || (!S_ISLNK(f->mode) && st.st_mode != want))
			fail("%s has mode 0%o, expected 0%o", f->name, st.st_mode, want);
	}
}

/* The child: inner 1000, as a container's unprivileged user. */
static int child_main(int rd)
{
	gid_t want[] = { 1004, 1005 }, groups[8], before[8];
	uid_t r, e, s;
	gid_t gr, ge, gs;
	char c;
	int n, n0, kept, gone;

#ifdef USERNS_SETGROUPS_DENY
	if (setgroups(2, want) == 0 || errno != EPERM) {
		test_msg("child: setgroups() is not refused under setgroups deny");
		return 1;
	}
#else
	if (setgroups(2, want) < 0) {
		test_msg("child: setgroups: %s", strerror(errno));
		return 1;
	}
#endif
	if (setresgid(1000, 1002, 1003) < 0 || setresuid(1000, 1000, 1001) < 0) {
		test_msg("child: cannot set its ids: %s", strerror(errno));
		return 1;
	}
	n0 = getgroups(8, before);
	/* a file of its own on the tmpfs held open, and one it deleted */
	kept = open(TMPFS "/u1000", O_RDWR);
	gone = open(TMPFS "/sgid/gone", O_RDWR | O_CREAT | O_EXCL, 0640);
	if (kept < 0 || gone < 0 || write(kept, "kept", 4) != 4 || write(gone, "gone", 4) != 4 ||
	    unlink(TMPFS "/sgid/gone") < 0) {
		test_msg("child: files on the tmpfs: %s", strerror(errno));
		return 1;
	}
	if (read(rd, &c, 1) != 1)
		return 2;
	{
		struct stat a, b;
		char buf[16] = "";

		if (fstat(kept, &a) < 0 || stat(TMPFS "/u1000", &b) < 0 || a.st_ino != b.st_ino ||
		    pread(kept, buf, sizeof(buf), 0) < 4 || memcmp(buf, "kept", 4) || lseek(kept, 0, SEEK_CUR) != 4) {
			test_msg("child: its open %s/u1000 is not that file with its data and offset", TMPFS);
			return 1;
		}
		if (fstat(gone, &a) < 0 || a.st_nlink || pread(gone, buf, sizeof(buf), 0) != 4 ||
		    memcmp(buf, "gone", 4) || (a.st_mode & 07777) != 0640) {
			test_msg("child: its deleted file is not there (links %u, mode 0%o) or lost its data",
				 (unsigned)a.st_nlink, a.st_mode & 07777);
			return 1;
		}
		if (a.st_uid != 1000 || a.st_gid != 2000) {
			test_msg("child: its deleted file is owned by %u:%u, expected 1000:2000 (the setgid directory's group)", a.st_uid, a.st_gid);
			return 1;
		}
	}
	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	n = getgroups(8, groups);
	if (r != 1000 || e != 1000 || s != 1001 || gr != 1000 || ge != 1002 || gs != 1003) {
		test_msg("child: uids %u %u %u gids %u %u %u, expected 1000 1000 1001, 1000 1002 1003", r, e, s, gr,
			 ge, gs);
		return 1;
	}
#ifdef USERNS_SETGROUPS_DENY
	/* those it was born with (unmapped host gids show as the overflow gid) */
	if (n != n0 || (n > 0 && memcmp(groups, before, n * sizeof(gid_t)))) {
		test_msg("child: %d groups (%u), expected the %d it had (%u)", n, n > 0 ? groups[0] : 0, n0,
			 n0 > 0 ? before[0] : 0);
		return 1;
	}
#else
	(void)n0;
	if (n != 2 || groups[0] != 1004 || groups[1] != 1005) {
		test_msg("child: %d groups (%u %u), expected 1004 1005", n, n > 0 ? groups[0] : 0,
			 n > 1 ? groups[1] : 0);
		return 1;
	}
#endif
	return 0;
}

/* Before the user namespace: what the harness made as host root must stay
 * reachable from host uid 100000 (inner 0 is not the host's root): the work
 * directory and the output file are given to it, the run directory searchable. */
static void open_workdir(int argc, char **argv)
{
	char cwd[PATH_MAX], *sl;
	struct stat st;

	if (!getcwd(cwd, sizeof(cwd)) || chown(".", HOST_BASE, HOST_BASE) < 0)
		fail("cannot give the work directory to %u: %s", HOST_BASE, strerror(errno));
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--outfile") && chown(argv[i + 1], HOST_BASE, HOST_BASE) < 0)
			fail("cannot give %s to %u: %s", argv[i + 1], HOST_BASE, strerror(errno));
	while ((sl = strrchr(cwd, '/')) && sl != cwd) {
		*sl = '\0';
		if (stat(cwd, &st) == 0 && !(st.st_mode & S_IXOTH))
			chmod(cwd, (st.st_mode & 07777) | S_IXOTH);
	}
}

int main(int argc, char **argv)
{
	char buf[64];
	int p[2], st;
	pid_t c;

	open_workdir(argc, argv);
	enter_userns_sg(MAP, SETGROUPS);
	/* still host root's ids, unmapped here: become the inner root (host 100000) */
#ifndef USERNS_SETGROUPS_DENY
	if (setgroups(0, NULL) < 0)
		fail("setgroups: %s", strerror(errno));
#endif
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		fail("cannot become the inner root: %s", strerror(errno));
	/* a mount namespace owned by the user namespace (--ns-mnt makes one more) */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail("a mount namespace in the user namespace: %s", strerror(errno));
	test_init(argc, argv);
	if (getpid() != 1)
		skip("needs a PID namespace of its own with its user namespace (run.sh --ns)");
	if (getuid() != 0 || geteuid() != 0)
		fail("root is %u/%u inside, expected 0", getuid(), geteuid());
	make_files();
	{
		struct msqid_ds ds;
		/* more messages than a new namespace's msg_max allows */
		struct mq_attr a = { .mq_maxmsg = 12, .mq_msgsize = 8 };
		mqd_t q;
		int id;

		sysctls_set();
		id = msgget(MSGKEY, IPC_CREAT | IPC_EXCL | 0640);
		q = mq_open(QNAME, O_RDWR | O_CREAT | O_EXCL, 0640, &a);
		if (id < 0 || msgctl(id, IPC_STAT, &ds) < 0 || q < 0)
			fail("msgget/mq_open: %s", strerror(errno));
		ds.msg_perm.uid = 1000;
		ds.msg_perm.gid = 1000;
		if (msgctl(id, IPC_SET, &ds) < 0 || fchown(q, 1000, 1000) < 0)
			fail("cannot give the queues to 1000:1000: %s", strerror(errno));
		mq_close(q);
	}
	if (pipe(p) < 0)
		fail("pipe");
	c = fork();
	if (c < 0)
		fail("fork");
	if (c == 0) {
		close(p[1]);
		_exit(child_main(p[0]));
	}
	close(p[0]);
	check_files();
	test_daemon();
	test_waitsig();

	check_map("uid_map");
	check_map("gid_map");
	if (test_read_file("/proc/self/setgroups", buf, sizeof(buf)) <= 0 || strncmp(buf, SETGROUPS, strlen(SETGROUPS)))
		fail("/proc/self/setgroups is '%s', expected %s", buf, SETGROUPS);
	{
		uid_t r, e, s;

		getresuid(&r, &e, &s);
		if (r || e || s || getgid() || getegid())
			fail("root: uids %u %u %u gid %u/%u, expected 0", r, e, s, getgid(), getegid());
	}
	check_files();
	/* the tmpfs is the tree's: its root may remount it (its superblock is owned
	 * by the user namespace) */
	{
		struct statfs sf;

		if (mount(NULL, TMPFS, NULL, MS_REMOUNT | MS_NOSUID, "size=2m") < 0)
			fail("cannot remount %s (is its superblock owned by the tree's user namespace?): %s", TMPFS,
			     strerror(errno));
		if (statfs(TMPFS, &sf) < 0 || sf.f_blocks * sf.f_bsize != 2 << 20)
			fail("%s is not 2 MiB after the remount", TMPFS);
	}
	sysctls_check();
	{
		struct mq_attr qa;
		struct msqid_ds ds;
		struct stat qst;
		int id = msgget(MSGKEY, 0);
		mqd_t q = mq_open(QNAME, O_RDONLY);

		if (id < 0 || msgctl(id, IPC_STAT, &ds) < 0)
			fail("the SysV message queue is gone: %s", strerror(errno));
		if (ds.msg_perm.uid != 1000 || ds.msg_perm.gid != 1000 || (ds.msg_perm.mode & 0777) != 0640)
			fail("the SysV message queue is %u:%u 0%o, expected 1000:1000 0640", ds.msg_perm.uid,
			     ds.msg_perm.gid, ds.msg_perm.mode & 0777);
		if (q < 0 || fstat(q, &qst) < 0)
			fail("the POSIX message queue is gone: %s", strerror(errno));
		if (qst.st_uid != 1000 || qst.st_gid != 1000 || (qst.st_mode & 0777) != 0640)
			fail("the POSIX message queue is %u:%u 0%o (host %u:%u), expected 1000:1000 0640",
			     qst.st_uid, qst.st_gid, qst.st_mode & 0777, to_host("uid_map", qst.st_uid),
			     to_host("gid_map", qst.st_gid));
		if (mq_getattr(q, &qa) < 0 || qa.mq_maxmsg != 12 || qa.mq_msgsize != 8)
			fail("the POSIX message queue holds %ld messages of %ld bytes, expected 12 of 8",
			     (long)qa.mq_maxmsg, (long)qa.mq_msgsize);
	}
	if (write(p[1], "x", 1) != 1)
		fail("cannot wake the child");
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("the child found its ids wrong (status 0x%x)", st);
	pass();
}
