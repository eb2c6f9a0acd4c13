/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FUSE: a filesystem served by a process of the tree (libvirt's controller
 * serves the container's /proc/meminfo this way), checkpointed with its
 * server. Two halves of one connection are saved: the mount (fuse-mnt.img:
 * the superblock's options and its root's mode; mnt.c records the mount
 * itself) and each /dev/fuse descriptor (fuse.img), paired with the mount
 * whose connection it holds.
 *
 * Pairing (dump). The kernel (6.18) shows nothing that ties a /dev/fuse
 * descriptor to its connection: no fdinfo field, and the connection number
 * (/sys/fs/fuse/connections/N, N the minor of the superblock's device) is
 * known from the mount side only. So it is proved by a probe while the tree
 * is frozen: each descriptor is cloned (FUSE_DEV_IOC_CLONE on a /dev/fuse of
 * our own, O_NONBLOCK: a second reader of the same connection), then, per
 * mount, a child of ours stat()s the mount's root with AT_STATX_FORCE_SYNC,
 * which queues a FUSE_GETATTR on the mount's connection; the clones that
 * turn readable are that connection's. The child is then killed: a request
 * nobody read yet is taken off the queue (FR_PENDING), so the frozen server
 * never sees it. A clone readable before any probe means requests in flight
 * (a process waits on the fs while its server is frozen): refused. A mount
 * whose probe reaches no descriptor of the tree, or a connected descriptor
 * no mount of the tree reaches, is refused naming it.
 *
 * The dumper must never wait on a frozen server: mount roots are stat()ed
 * with AT_STATX_DONT_SYNC (cached attributes), and descriptors, cwd or
 * mappings on a FUSE fs are refused before anything looks them up.
 *
 * Restore. lxc-cr opens one /dev/fuse per mount before the mount namespace
 * helper forks; the helper mounts "fuse" with fd=N and the saved options
 * where the mount was, then answers the kernel's FUSE_INIT itself (see
 * fuse_init_reply()): the restored server did its INIT long ago and must not
 * see another. The fuse.img descriptors are that very file (the first one)
 * or clones of it, so the server's thread, whose read() is restarted after
 * the restore, reads the new connection at its old fd number. Binds of the
 * fs's files (NAME.fuse/meminfo on /proc/meminfo) need a FUSE_LOOKUP that
 * only the server can answer (the node ids are its own): they are made once
 * the tree runs (fuse_restore_binds()), by a child of lxc-cr in the tree's
 * mount namespace, with a deadline.
 *
 * A server outside the tree. A bind of a FUSE file whose superblock the
 * tree has not mounted (a container's /proc/meminfo, dumped without its
 * controller) is a bind of lxc-cr's path when lxc-cr has the superblock
 * mounted (mnt.c's host_path()); otherwise it must be declared with
 * --external mnt[MOUNTPOINT] at dump (fuse-ext.img), and its source given
 * with --external mnt[MOUNTPOINT]:PATH at restore; a PATH in another mount
 * namespace (/proc/PID/root/...) is cloned from inside it (open_tree), the
 * kernel refusing binds across namespaces.
 *
 * Not supported: fuseblk, a mount on a FUSE fs, open files, cwd or mappings
 * on a FUSE fs (the kernel's file handles are the old connection's), a
 * request in flight at dump (also a FORGET the kernel queued while the
 * server was frozen: /dev/fuse does not tell them apart; infect/seize.c
 * releases the tree for a while when one of its threads waits on a FUSE
 * request), a FUSE mount (not a bind of its files) whose server is outside
 * the tree, a /dev/fuse opened in a user namespace of the tree's own that
 * our clone cannot join (FUSE_DEV_IOC_CLONE refuses across user namespaces).
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "fault.h"
#include "fd/files.h"
#include "ns/ns.h"
#include "restore/restore.h"

#define FUSE_DEV_RDEV makedev(10, 229)
#define FUSE_PROBE_MS 3000		/* a frozen server's queue shows a probe at once */
#define FUSE_INIT_MS 5000		/* the kernel queues FUSE_INIT during mount() */
#define FUSE_BIND_MS 10000		/* the restored server answers a lookup */
#define FUSE_MAX_MNTS 64
#define FUSE_MAX_SUBTYPE 64
/* A read of /dev/fuse must be able to take the largest request the kernel
 * may queue before INIT is answered (its max_pages limit is 256 pages). */
#define FUSE_RD_BUF ((256u << 12) + 8192)

/* What the restored connection is told in our FUSE_INIT reply (see fuse_init_reply()). */
#define FUSE_RST_MINOR 26
#define FUSE_RST_MAX_WRITE 4096

/* ---------------------------------------------------------------- dump */

struct fuse_dev_dump {
	pid_t pid;
	int fd;
	uint32_t id, flags;
	int clone;		/* ours, on the same connection; -1: not mounted yet */
	uint32_t mnt_id;	/* paired mount, 0: none */
};

struct fuse_mnt_dump {
	FuseMntEntry e;
	dev_t dev;
	char *mnt;
};

static struct {
	struct fuse_dev_dump *devs;
	unsigned nr_devs;
	struct fuse_mnt_dump *mnts;
	unsigned nr_mnts;
	struct fuse_ext_dump {
		uint32_t id;
		char *mnt;
	} *ext;			/* mounts declared --external mnt[MOUNTPOINT] */
	unsigned nr_ext;
} fd_dump;

/*
 * --external mnt[MOUNTPOINT] (dump) and mnt[MOUNTPOINT]:PATH (restore): the
 * mountpoint as the tree sees it, PATH in lxc-cr's view. Both absolute, with
 * no "]:" inside. Returns the mountpoint's length (0: not such a key) and
 * sets *path to PATH (NULL in the dump form).
 */
size_t fuse_ext_key(const char *s, const char **path)
{
	const char *end;

	*path = NULL;
	if (!s || strncmp(s, "mnt[/", 5))
		return 0;
	end = strstr(s, "]:");
	if (end) {
		if (end[2] != '/' || strstr(end + 2, "]:"))
			return 0;
		*path = end + 2;
		return (size_t)(end - s - 4);
	}
	end = s + strlen(s) - 1;
	return *end == ']' && end > s + 4 ? (size_t)(end - s - 4) : 0;
}

static bool ext_declared(const struct crc_dump_opts *o, const char *mnt)
{
	const char *path;

	for (unsigned i = 0; i < o->nr_externals; i++) {
		size_t n = fuse_ext_key(o->externals[i], &path);

		if (n && !path && strlen(mnt) == n && !strncmp(o->externals[i] + 4, mnt, n))
			return true;
	}
	return false;
}

/* Whether lxc-cr has a mount of the superblock dev (a bind from it is then
 * a bind of lxc-cr's path, as for any host directory). */
static bool host_has_dev(dev_t dev)
{
	_cleanup_free_ char *buf = read_file_at(AT_FDCWD, "/proc/self/mountinfo", NULL);
	unsigned maj, min;

	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (sscanf(line, "%*u %*u %u:%u", &maj, &min) == 2 && makedev(maj, min) == dev)
			return true;
	return false;
}

bool fuse_fstype(const char *type)
{
	return !strcmp(type, "fuse") || !strncmp(type, "fuse.", 5);
}

static bool fuse_match(const struct fd_parms *p)
{
	return p->fd >= 0 && S_ISCHR(p->st.st_mode) && p->st.st_rdev == FUSE_DEV_RDEV;
}

/*
 * A second reader of the FUSE connection of fd of the process behind pfd:
 * O_NONBLOCK, so that polling it says whether requests are queued. Returns
 * the clone, -EINVAL when the kernel refuses the clone (a /dev/fuse without
 * a connection, or one opened in another user namespace), or -errno, with
 * msg set to what failed.
 */
static int conn_clone(int pfd, int fd, const char **msg)
{
	_cleanup_close_ int copy = -1;
	uint32_t oldfd;
	int clone, e;

	copy = syscall(SYS_pidfd_getfd, pfd, fd, 0);
	if (copy < 0) {
		*msg = "cannot take a copy of /dev/fuse";
		return -errno;
	}
	clone = open("/dev/fuse", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (clone < 0) {
		*msg = "cannot open /dev/fuse to probe its connection";
		return -errno;
	}
	oldfd = (uint32_t)copy;
	if (ioctl(clone, FUSE_DEV_IOC_CLONE, &oldfd) < 0) {
		e = errno;
		*msg = "cannot clone its FUSE connection";
		close(clone);
		return -e;
	}
	return clone;
}

/* A connection's requests that its server has not read yet. */
static bool conn_queued(int clone)
{
	struct pollfd pl = { .fd = clone, .events = POLLIN };

	return poll(&pl, 1, 0) > 0 && (pl.revents & POLLIN);
}

static int fuse_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	struct fuse_dev_dump *d, *n;
	_cleanup_close_ int pfd = -1;
	const char *msg = "";
	int clone;

	(void)ctx;
	n = xrealloc_array(fd_dump.devs, fd_dump.nr_devs + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	fd_dump.devs = n;
	pfd = syscall(SYS_pidfd_open, p->pid, 0);
	if (pfd < 0) {
		pr_perror("pid %d fd %d: cannot take a copy of /dev/fuse", p->pid, p->fd);
		return -errno;
	}
	clone = conn_clone(pfd, p->fd, &msg);
	if (clone == -EINVAL) {
		/* no connection, or a file opened in another user namespace
		 * than ours (the kernel refuses to clone across) */
		if (ns_dump_own(CLONE_NEWUSER)) {
			pr_err("pid %d fd %d: /dev/fuse in a tree with a user namespace of its own: its connection cannot be told from lxc-cr's; not supported",
			       p->pid, p->fd);
			return -ENOTSUP;
		}
		/* not mounted yet: a /dev/fuse without a connection */
		clone = -1;
	} else if (clone < 0) {
		pr_err("pid %d fd %d: %s: %s", p->pid, p->fd, msg, strerror(-clone));
		return clone;
	} else if (conn_queued(clone)) {
		pr_err("pid %d fd %d: its FUSE connection has requests in flight (a process waits on the filesystem it serves); not supported",
		       p->pid, p->fd);
		close(clone);
		return -EBUSY;
	}
	d = &fd_dump.devs[fd_dump.nr_devs++];
	memset(d, 0, sizeof(*d));
	d->pid = p->pid;
	d->fd = p->fd;
	d->id = id;
	d->flags = p->flags & (O_ACCMODE | O_NONBLOCK);
	d->clone = clone;
	return 0;
}

/*
 * A FLUSH, RELEASE or FORGET the kernel queued just before the tree stopped
 * (a reader closed a file of the fs a moment before) is a request its server
 * has not read: seize.c releases the tree for it to be served and stops it
 * again, rather than have the dump refuse it as in flight.
 */
int fuse_requests_queued(pid_t pid)
{
	_cleanup_close_ int pfd = -1;
	char dir[64], path[320], link[16];
	const char *msg;
	struct dirent *de;
	int found = 0;
	ssize_t n;
	DIR *d;

	pfd = syscall(SYS_pidfd_open, pid, 0);
	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = pfd < 0 ? NULL : opendir(dir);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		int clone;

		/* by its name: a stat() of a file of a FUSE fs would wait on
		 * its stopped server */
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link));
		if (de->d_name[0] == '.' || n != (ssize_t)strlen("/dev/fuse") ||
		    memcmp(link, "/dev/fuse", n))
			continue;
		clone = conn_clone(pfd, atoi(de->d_name), &msg);
		if (clone < 0)
			continue;
		found = conn_queued(clone);
		close(clone);
	}
	closedir(d);
	return found;
}

static struct fuse_mnt_dump *mnt_by_dev(dev_t dev)
{
	for (unsigned i = 0; i < fd_dump.nr_mnts; i++)
		if (fd_dump.mnts[i].dev == dev)
			return &fd_dump.mnts[i];
	return NULL;
}

static struct fuse_mnt_dump *mnt_by_id(uint32_t id)
{
	for (unsigned i = 0; i < fd_dump.nr_mnts; i++) {
		struct fuse_mnt_dump *m = &fd_dump.mnts[i];

		if (m->e.mnt_id == id)
			return m;
		for (size_t k = 0; k < m->e.n_binds; k++)
			if (m->e.binds[k] == id)
				return m;
	}
	return NULL;
}

/* An unsigned option NAME=V of a superblock option list, 1 if found. */
static int opt_u32(const char *opts, const char *name, uint32_t *v)
{
	size_t n = strlen(name);

	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == '=') {
			char *end;
			unsigned long x = strtoul(p + n + 1, &end, 10);

			if ((*end && *end != ',') || x > UINT32_MAX)
				return -EINVAL;
			*v = (uint32_t)x;
			return 1;
		}
	return 0;
}

static bool opt_flag(const char *opts, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

static void probe_child(const char *path, const FuseMntEntry *e)
{
	struct statx stx;

	/* without allow_other only the mount's owner may use it */
	if (!e->allow_other && (setgroups(0, NULL) < 0 || setresgid(e->group_id, e->group_id, e->group_id) < 0 ||
				setresuid(e->user_id, e->user_id, e->user_id) < 0))
		_exit(2);
	if (syscall(SYS_statx, AT_FDCWD, path, AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &stx) < 0)
		_exit(3);
	_exit(0);
}

/*
 * Which descriptors of the tree hold the connection of mount m: a request
 * made on m (a child's stat) shows up on their clones. Their mnt_id is set.
 */
static int fuse_probe(struct fuse_mnt_dump *m, const char *path)
{
	struct pollfd *pl = xzalloc(sizeof(*pl) * (fd_dump.nr_devs + 1));
	unsigned found = 0;
	int st, ret = 0, n, pidfd = -1;
	pid_t pid;

	if (!pl)
		return -ENOMEM;
	for (unsigned i = 0; i < fd_dump.nr_devs; i++) {
		pl[i].fd = fd_dump.devs[i].clone >= 0 && !fd_dump.devs[i].mnt_id ? fd_dump.devs[i].clone : -1;
		pl[i].events = POLLIN;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		pr_perror("fuse %s: cannot fork its probe", m->mnt);
		goto out;
	}
	if (pid == 0)
		probe_child(path, &m->e);
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	pl[fd_dump.nr_devs].fd = pidfd;
	pl[fd_dump.nr_devs].events = POLLIN;
	n = poll(pl, fd_dump.nr_devs + 1, FUSE_PROBE_MS);
	for (unsigned i = 0; n > 0 && i < fd_dump.nr_devs; i++)
		if (pl[i].fd >= 0 && (pl[i].revents & POLLIN)) {
			fd_dump.devs[i].mnt_id = m->e.mnt_id;
			found++;
		}
	if (!found && n > 0 && (pl[fd_dump.nr_devs].revents & POLLIN)) {
		waitpid(pid, &st, 0);
		pid = -1;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			pr_err("fuse %s: its server is not in the tree (it answered while the tree was frozen); not supported",
			       m->mnt);
		else
			pr_err("fuse %s: cannot probe its connection (its root cannot be reached as its owner %u:%u)",
			       m->mnt, m->e.user_id, m->e.group_id);
		ret = -ENOTSUP;
	} else if (!found) {
		pr_err("fuse %s: no /dev/fuse descriptor of the tree serves it (its server is outside the tree); not supported",
		       m->mnt);
		ret = -ENOTSUP;
	}
out:
	if (pid > 0) {
		/* a request nobody read yet is dropped from the queue as it dies */
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (pidfd >= 0)
		close(pidfd);
	for (unsigned i = 0; !ret && i < fd_dump.nr_devs; i++) {
		struct pollfd p1 = { .fd = fd_dump.devs[i].clone, .events = POLLIN };

		if (p1.fd >= 0 && poll(&p1, 1, 0) > 0) {
			pr_err("pid %d fd %d: a request stays queued on its FUSE connection after the probe of %s",
			       fd_dump.devs[i].pid, fd_dump.devs[i].fd, m->mnt);
			ret = -EBUSY;
		}
	}
	free(pl);
	if (!ret)
		pr_info("fuse %s (connection %u): served by %u /dev/fuse file(s) of the tree", m->mnt,
			minor(m->dev), found);
	return ret;
}

static int fuse_record_mnt(pid_t root, const struct mnt_info *mi)
{
	char path[PATH_MAX];
	struct fuse_mnt_dump *m, *n;
	struct statx stx;
	uint32_t v;
	int r;

	if (fd_dump.nr_mnts >= FUSE_MAX_MNTS) {
		pr_err("fuse %s: more than %u FUSE mounts; not supported", mi->mnt, FUSE_MAX_MNTS);
		return -ENOTSUP;
	}
	n = xrealloc_array(fd_dump.mnts, fd_dump.nr_mnts + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	fd_dump.mnts = n;
	m = &fd_dump.mnts[fd_dump.nr_mnts];
	memset(m, 0, sizeof(*m));
	fuse_mnt_entry__init(&m->e);
	m->dev = mi->dev;
	m->e.mnt_id = mi->id;
	m->mnt = xstrdup(mi->mnt);
	if (!m->mnt)
		return -ENOMEM;
	fd_dump.nr_mnts++;
	if (opt_u32(mi->super, "user_id", &m->e.user_id) != 1 ||
	    opt_u32(mi->super, "group_id", &m->e.group_id) != 1) {
		pr_err("fuse %s: no user_id/group_id among its options '%s'", mi->mnt, mi->super);
		return -EINVAL;
	}
	m->e.has_allow_other = m->e.allow_other = opt_flag(mi->super, "allow_other");
	m->e.has_default_permissions = m->e.default_permissions =
		opt_flag(mi->super, "default_permissions");
	if ((r = opt_u32(mi->super, "max_read", &v)) < 0)
		return r;
	if (r) {
		m->e.has_max_read = true;
		m->e.max_read = v;
	}
	if ((r = opt_u32(mi->super, "blksize", &v)) < 0)
		return r;
	if (r) {
		m->e.has_blksize = true;
		m->e.blksize = v;
	}
	if (!strncmp(mi->fstype, "fuse.", 5)) {
		m->e.subtype = xstrdup(mi->fstype + 5);
		if (!m->e.subtype)
			return -ENOMEM;
	}
	/* the root's cached mode: a frozen server must not be asked */
	if (snprintf(path, sizeof(path), "/proc/%d/root%s", root, mi->mnt) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (syscall(SYS_statx, AT_FDCWD, path, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_MODE, &stx) < 0) {
		pr_perror("fuse %s: cannot stat its root", mi->mnt);
		return -errno;
	}
	if (makedev(stx.stx_dev_major, stx.stx_dev_minor) != mi->dev) {
		pr_err("fuse %s: cannot be reached (another mount covers it); not supported", mi->mnt);
		return -ENOTSUP;
	}
	m->e.rootmode = stx.stx_mode;
	return fuse_probe(m, path);
}

/*
 * Called by mnt_dump() for each mount of the tree's own, parents first.
 * Returns 1 when mi is a FUSE superblock's mount (recorded here; mnt.c records
 * it as fstype mi->fstype, without options), 2 when it was declared external
 * (mnt.c records a bind whose source the caller gives at restore), 0 otherwise
 * (a bind of a FUSE fs's file is remembered to be made after the restore), or
 * -errno.
 */
int fuse_dump_mount(struct dump_ctx *ctx, pid_t root, const struct mnt_info *mi)
{
	struct fuse_mnt_dump *m = mnt_by_id(mi->parent);
	int ret;

	(void)ctx;
	if (m) {
		pr_err("mount %s lies on the FUSE filesystem %s; not supported", mi->mnt, m->mnt);
		return -ENOTSUP;
	}
	if (!strncmp(mi->fstype, "fuseblk", 7)) {
		pr_err("mount %s: FUSE on a block device (%s) is not supported", mi->mnt, mi->fstype);
		return -ENOTSUP;
	}
	if (!fuse_fstype(mi->fstype))
		return 0;
	m = mnt_by_dev(mi->dev);
	if (ext_declared(ctx->opts, mi->mnt)) {
		struct fuse_ext_dump *x;

		if (m) {
			pr_err("--external mnt[%s]: that mount is of the FUSE filesystem %s, served by the tree; do not declare it",
			       mi->mnt, m->mnt);
			return -EINVAL;
		}
		x = xrealloc_array(fd_dump.ext, fd_dump.nr_ext + 1, sizeof(*x));
		if (!x)
			return -ENOMEM;
		fd_dump.ext = x;
		x = &fd_dump.ext[fd_dump.nr_ext];
		x->id = mi->id;
		x->mnt = xstrdup(mi->mnt);
		if (!x->mnt)
			return -ENOMEM;
		fd_dump.nr_ext++;
		pr_info("mount %s: %s of a FUSE filesystem served outside the tree, declared external: bound from the caller's path at restore",
			mi->mnt, mi->root);
		return 2;
	}
	if (!m && host_has_dev(mi->dev))
		return 0;	/* lxc-cr has it mounted: a bind of that (host_path()) */
	if (m) {
		uint32_t *b = xrealloc_array(m->e.binds, m->e.n_binds + 1, sizeof(*b));

		if (!b)
			return -ENOMEM;
		m->e.binds = b;
		m->e.binds[m->e.n_binds++] = mi->id;
		pr_info("mount %s: a bind of %s%s from the FUSE mount %s, made once its server runs",
			mi->mnt, m->mnt, strcmp(mi->root, "/") ? mi->root : "", m->mnt);
		return 0;
	}
	if (strcmp(mi->root, "/")) {
		pr_err("mount %s: a bind of %s of a FUSE filesystem neither the tree nor lxc-cr has mounted (its server is outside the tree); declare it with --external mnt[%s] and give its source at restore",
		       mi->mnt, mi->root, mi->mnt);
		return -ENOTSUP;
	}
	ret = fuse_record_mnt(root, mi);
	return ret < 0 ? ret : 1;
}

/* For the message about a descriptor no mount of the tree's own reaches: the
 * FUSE mounts the root sees that are not its own, with their connection
 * numbers (/sys/fs/fuse/connections/N, N the minor of their device). */
static void foreign_mounts(pid_t root, char *out, size_t len)
{
	_cleanup_free_ char *buf = NULL;
	char path[64], *line, *next;
	size_t used = 0;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", root);
	buf = read_file_at(AT_FDCWD, path, NULL);
	for (line = buf; line && *line; line = next) {
		char mnt[256], type[64];
		unsigned id, maj, min;
		const char *sep;
		int n;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%u %*u %u:%u %*s %255s", &id, &maj, &min, mnt) != 4 ||
		    sscanf(sep + 3, "%63s", type) != 1 || !fuse_fstype(type) || mnt_by_id(id))
			continue;
		n = snprintf(out + used, len - used, "%s%s (connection %u)", used ? ", " : "", mnt, min);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += n;
	}
}

static void unpaired_why(pid_t root, char *out, size_t len)
{
	char list[384];

	foreign_mounts(root, list, sizeof(list));
	snprintf(out, len, "%s%s%s%s",
		 ns_dump_own(CLONE_NEWNS) ? "is not one of the tree's own mounts"
					  : "is in lxc-cr's mount namespace (the tree has none of its own)",
		 *list ? " (FUSE mounts the tree sees but does not own: " : "", list, *list ? ")" : "");
}

/* After mnt_dump(): write what was paired, refuse what was not. */
int fuse_dump_finish(struct dump_ctx *ctx)
{
	int ret = 0;

	for (unsigned i = 0; i < fd_dump.nr_devs && !ret; i++) {
		struct fuse_dev_dump *d = &fd_dump.devs[i];
		FuseEntry e = FUSE_ENTRY__INIT;

		if (d->clone >= 0 && !d->mnt_id) {
			char why[512];

			unpaired_why(ctx->items[0]->pid, why, sizeof(why));
			pr_err("pid %d fd %d: /dev/fuse serves a FUSE mount that %s; not supported", d->pid,
			       d->fd, why);
			return -ENOTSUP;
		}
		e.id = d->id;
		e.flags = d->flags;
		if (d->mnt_id) {
			e.has_mnt_id = true;
			e.mnt_id = d->mnt_id;
		}
		ret = img_write_pb(dump_img(ctx, IMG_FUSE), &e.base);
	}
	for (unsigned i = 0; i < fd_dump.nr_mnts && !ret; i++)
		ret = img_write_pb(dump_img(ctx, IMG_FUSE_MNT), &fd_dump.mnts[i].e.base);
	for (unsigned i = 0; i < fd_dump.nr_ext && !ret; i++) {
		FuseExtEntry x = FUSE_EXT_ENTRY__INIT;

		x.mnt_id = fd_dump.ext[i].id;
		ret = img_write_pb(dump_img(ctx, IMG_FUSE_EXT), &x.base);
	}
	/* a declared mountpoint that matched no FUSE mount is a mistake of the caller */
	for (unsigned i = 0; i < ctx->opts->nr_externals && !ret; i++) {
		const char *path;
		size_t n = fuse_ext_key(ctx->opts->externals[i], &path);

		if (n) {
			bool used = false;

			for (unsigned k = 0; k < fd_dump.nr_ext && !used; k++)
				used = strlen(fd_dump.ext[k].mnt) == n &&
				       !strncmp(fd_dump.ext[k].mnt, ctx->opts->externals[i] + 4, n);
			if (!used) {
				pr_err("--external %s: no mount of a FUSE filesystem of the tree's own is there",
				       ctx->opts->externals[i]);
				ret = -ENOENT;
			}
		}
	}
	return ret;
}

/* The mount ids of the FUSE mounts pid sees (a cache: a tree's processes
 * mostly share one mount namespace). */
static struct {
	pid_t pid;
	unsigned *ids, nr;
	dev_t *devs;
} fuse_seen = { 0, NULL, 0, NULL };

static int fuse_seen_load(pid_t pid)
{
	_cleanup_free_ char *buf = NULL;
	char path[64], *line, *next;

	if (fuse_seen.pid == pid)
		return 0;
	free(fuse_seen.ids);
	free(fuse_seen.devs);
	fuse_seen.ids = NULL;
	fuse_seen.devs = NULL;
	fuse_seen.nr = 0;
	fuse_seen.pid = 0;
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	buf = read_file_at(AT_FDCWD, path, NULL);
	if (!buf) {
		pr_perror("cannot read %s", path);
		return errno ? -errno : -EIO;
	}
	for (line = buf; *line; line = next) {
		char *sep, type[64];
		unsigned id, maj, min, *n;
		dev_t *d;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%u %*u %u:%u", &id, &maj, &min) != 3 ||
		    sscanf(sep + 3, "%63s", type) != 1)
			continue;
		if (!fuse_fstype(type) && strncmp(type, "fuseblk", 7))
			continue;
		n = xrealloc_array(fuse_seen.ids, fuse_seen.nr + 1, sizeof(*n));
		if (n)
			fuse_seen.ids = n;
		d = xrealloc_array(fuse_seen.devs, fuse_seen.nr + 1, sizeof(*d));
		if (d)
			fuse_seen.devs = d;
		if (!n || !d)
			return -ENOMEM;
		fuse_seen.ids[fuse_seen.nr] = id;
		fuse_seen.devs[fuse_seen.nr++] = makedev(maj, min);
	}
	fuse_seen.pid = pid;
	return 0;
}

/* A descriptor of a file on a FUSE fs (mnt_id from its fdinfo) is refused
 * before anything stats it: a frozen server would never answer. */
int fuse_dump_check_file(pid_t pid, int fd, int mnt_id)
{
	int ret = fuse_seen_load(pid);

	if (ret)
		return ret;
	for (unsigned i = 0; i < fuse_seen.nr; i++)
		if ((int)fuse_seen.ids[i] == mnt_id) {
			pr_err("pid %d fd %d: a file of a FUSE filesystem (mount %d); open files of FUSE filesystems are not supported",
			       pid, fd, mnt_id);
			return -ENOTSUP;
		}
	return 0;
}

/* A file reached through procpath (a mapping, cwd, root, exe) on a FUSE fs is
 * refused likewise; its device comes from cached attributes only. */
int fuse_dump_check_path(pid_t pid, const char *procpath)
{
	struct statx stx;
	dev_t dev;
	int ret = fuse_seen_load(pid);

	if (ret)
		return ret;
	if (!fuse_seen.nr)
		return 0;
	if (syscall(SYS_statx, AT_FDCWD, procpath, AT_STATX_DONT_SYNC, STATX_INO, &stx) < 0) {
		pr_perror("pid %d: cannot stat %s", pid, procpath);
		return -errno;
	}
	dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	for (unsigned i = 0; i < fuse_seen.nr; i++)
		if (fuse_seen.devs[i] == dev) {
			pr_err("pid %d: %s is a file of a FUSE filesystem (mount %u); files, cwd and mappings on FUSE filesystems are not supported",
			       pid, procpath, fuse_seen.ids[i]);
			return -ENOTSUP;
		}
	return 0;
}

void fuse_dump_fini(void)
{
	free(fuse_seen.ids);
	free(fuse_seen.devs);
	memset(&fuse_seen, 0, sizeof(fuse_seen));
	for (unsigned i = 0; i < fd_dump.nr_devs; i++)
		if (fd_dump.devs[i].clone >= 0)
			close(fd_dump.devs[i].clone);
	for (unsigned i = 0; i < fd_dump.nr_mnts; i++) {
		free(fd_dump.mnts[i].mnt);
		free(fd_dump.mnts[i].e.subtype);
		free(fd_dump.mnts[i].e.binds);
	}
	for (unsigned i = 0; i < fd_dump.nr_ext; i++)
		free(fd_dump.ext[i].mnt);
	free(fd_dump.ext);
	free(fd_dump.devs);
	free(fd_dump.mnts);
	memset(&fd_dump, 0, sizeof(fd_dump));
}

/* ---------------------------------------------------------------- restore */

static struct {
	FuseMntEntry **mnts;
	int *conn;		/* per mount: our /dev/fuse, mounted with fd=N (service fd) */
	unsigned *nr_files;	/* per mount: fuse.img files made on it so far */
	unsigned nr_mnts;
	bool binding;		/* fuse_restore_binds() is making the held binds */
	const MntEntry *ext[FUSE_MAX_MNTS];	/* mounts declared external, */
	int ext_tree[FUSE_MAX_MNTS];		/* a detached copy of each one's source */
	unsigned nr_ext;
} fr = { NULL, NULL, NULL, 0, false, { NULL }, { -1 }, 0 };

static int fr_index(uint32_t mnt_id)
{
	for (unsigned i = 0; i < fr.nr_mnts; i++)
		if (fr.mnts[i]->mnt_id == mnt_id)
			return (int)i;
	return -1;
}

/* Mount id of ns.img: the tree's, or of the controller's own above its
 * container (outer_mnts: libvirt's NAME.fuse). */
static const MntEntry *ns_mnt(struct rst_ctx *ctx, uint32_t id)
{
	for (size_t i = 0; ctx->ns && i < ctx->ns->n_mnts; i++)
		if (ctx->ns->mnts[i]->id == id)
			return ctx->ns->mnts[i];
	for (size_t i = 0; ctx->ns && i < ctx->ns->n_outer_mnts; i++)
		if (ctx->ns->outer_mnts[i]->id == id)
			return ctx->ns->outer_mnts[i];
	return NULL;
}

/* The PATH of --external mnt[mnt]:PATH, or NULL. */
static const char *ext_source(const struct crc_restore_opts *o, const char *mnt)
{
	const char *path, *found = NULL;

	for (unsigned i = 0; i < o->nr_externals; i++) {
		size_t n = fuse_ext_key(o->externals[i], &path);

		if (n && path && strlen(mnt) == n && !strncmp(o->externals[i] + 4, mnt, n))
			found = path;
	}
	return found;
}

/*
 * READ: fuse-ext.img. Each mount declared external at dump is a bind whose
 * source the caller gives now (--external mnt[MOUNTPOINT]:PATH, PATH in
 * lxc-cr's view): it becomes a bind of that path, made like any bind of a
 * host directory. A PATH for a mount the images do not hold is refused.
 */
static int fuse_restore_ext(struct rst_ctx *ctx)
{
	struct cr_img *img = img_open_optional(&ctx->dir, IMG_FUSE_EXT, 0);
	const MntEntry *done[FUSE_MAX_MNTS];
	unsigned nr = 0;
	int ret = 0;

	if (!img && errno != ENOENT)
		return -EIO;
	while (img) {
		FuseExtEntry *x;
		MntEntry *m = NULL;
		const char *path;
		char *src;

		ret = img_read_pb(img, &fuse_ext_entry__descriptor, (void **)&x);
		if (ret <= 0)
			break;
		ret = 0;
		for (size_t i = 0; ctx->ns && i < ctx->ns->n_mnts; i++)
			if (ctx->ns->mnts[i]->id == x->mnt_id)
				m = ctx->ns->mnts[i];
		if (!m || strcmp(m->fstype, "bind") || m->src_in_tree || m->is_root || nr >= FUSE_MAX_MNTS) {
			pr_err("image fuse-ext.img: mount %u is not a bind of the tree's", x->mnt_id);
			img_free_pb(x);
			ret = -EINVAL;
			break;
		}
		img_free_pb(x);
		path = ext_source(ctx->opts, m->mountpoint);
		if (!path) {
			pr_err("mount %s was declared external at dump (a FUSE filesystem served outside the tree): give its source with --external mnt[%s]:PATH",
			       m->mountpoint, m->mountpoint);
			ret = -ENOENT;
			break;
		}
		if (strlen(path) >= PATH_MAX / 2 || strstr(path, "/../") || strstr(path, "/./")) {
			pr_err("--external mnt[%s]:%s: not a plain absolute path", m->mountpoint, path);
			ret = -EINVAL;
			break;
		}
		src = xstrdup(path);
		if (!src) {
			ret = -ENOMEM;
			break;
		}
		free(m->source);
		m->source = src;
		done[nr++] = m;
		fr.ext[fr.nr_ext] = m;
		fr.ext_tree[fr.nr_ext++] = -1;
		pr_info("mount %s: bound from %s (--external)", m->mountpoint, path);
	}
	if (img)
		img_close(img);
	if (ret)
		return ret;
	for (unsigned i = 0; i < ctx->opts->nr_externals; i++) {
		const char *path;
		size_t n = fuse_ext_key(ctx->opts->externals[i], &path);
		bool found = false;

		for (unsigned k = 0; n && path && k < nr && !found; k++)
			found = strlen(done[k]->mountpoint) == n &&
				!strncmp(done[k]->mountpoint, ctx->opts->externals[i] + 4, n);
		if (n && path && !found) {
			pr_err("--external %s: the images hold no external mount there", ctx->opts->externals[i]);
			return -ENOENT;
		}
	}
	return 0;
}

/* READ: fuse-mnt.img, checked against ns.img's mounts. */
int fuse_restore_read(struct rst_ctx *ctx)
{
	struct cr_img *img;
	int ret = fuse_restore_ext(ctx);

	if (ret)
		return ret;
	img = img_open_optional(&ctx->dir, IMG_FUSE_MNT, 0);
	if (!img)
		return errno == ENOENT ? 0 : -EIO;
	for (;;) {
		FuseMntEntry *e, **n;
		const MntEntry *m;

		ret = img_read_pb(img, &fuse_mnt_entry__descriptor, (void **)&e);
		if (ret <= 0)
			break;
		ret = 0;
		n = xrealloc_array(fr.mnts, fr.nr_mnts + 1, sizeof(*n));
		if (!n) {
			img_free_pb(e);
			ret = -ENOMEM;
			break;
		}
		fr.mnts = n;
		fr.mnts[fr.nr_mnts++] = e;
		m = ns_mnt(ctx, e->mnt_id);
		if (fr.nr_mnts > FUSE_MAX_MNTS || !m || !fuse_fstype(m->fstype) || fr_index(e->mnt_id) != (int)fr.nr_mnts - 1 ||
		    (e->subtype && (strlen(e->subtype) > FUSE_MAX_SUBTYPE || strpbrk(e->subtype, ",/ ="))) ||
		    (!S_ISDIR(e->rootmode) && !S_ISREG(e->rootmode)) || (e->rootmode & ~(S_IFMT | 07777)) ||
		    (e->has_blksize && (e->blksize < 512 || e->blksize > 65536 || (e->blksize & (e->blksize - 1))))) {
			pr_err("image fuse-mnt.img: FUSE mount %u is invalid", e->mnt_id);
			ret = -EINVAL;
			break;
		}
		for (size_t k = 0; k < e->n_binds; k++) {
			const MntEntry *b = ns_mnt(ctx, e->binds[k]);

			if (!b || strcmp(b->fstype, "bind") || !(b->src_in_tree || b->src_outer)) {
				pr_err("image fuse-mnt.img: FUSE mount %u: bind %u is not a bind of the tree's",
				       e->mnt_id, e->binds[k]);
				ret = -EINVAL;
				break;
			}
		}
		if (ret)
			break;
	}
	img_close(img);
	if (ret)
		return ret;
	for (size_t i = 0; ctx->ns && i < ctx->ns->n_mnts + ctx->ns->n_outer_mnts; i++) {
		const MntEntry *m = i < ctx->ns->n_mnts ? ctx->ns->mnts[i] : ctx->ns->outer_mnts[i - ctx->ns->n_mnts];

		if (fuse_fstype(m->fstype) && fr_index(m->id) < 0) {
			pr_err("image ns.img: FUSE mount %u at %s has no record in fuse-mnt.img", m->id,
			       m->mountpoint);
			return -EINVAL;
		}
	}
	fr.conn = xzalloc(sizeof(*fr.conn) * (fr.nr_mnts + 1));
	fr.nr_files = xzalloc(sizeof(*fr.nr_files) * (fr.nr_mnts + 1));
	if (!fr.conn || !fr.nr_files)
		return -ENOMEM;
	for (unsigned i = 0; i < fr.nr_mnts; i++)
		fr.conn[i] = -1;
	return 0;
}

struct ext_src {
	const char *path;
	int ns;
};

/* In a child, in the mount namespace of the source if it is another's: a
 * detached copy of it (a bind across mount namespaces is refused). */
static int ext_clone(void *arg)
{
	struct ext_src *x = arg;
	int fd;

	if (x->ns >= 0 && setns(x->ns, CLONE_NEWNS) < 0)
		return -errno;
	fd = syscall(SYS_open_tree, AT_FDCWD, x->path, 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int fuse_ext_tree(const MntEntry *m)
{
	for (unsigned i = 0; i < fr.nr_ext; i++)
		if (fr.ext[i] == m)
			return fr.ext_tree[i];
	return -1;
}

/* MNT, in lxc-cr before the helper forks: one /dev/fuse per mount, which the
 * helper mounts with fd=N (it inherits it at the same number); a detached
 * copy of each external mount's source, cloned in the mount namespace it is
 * in when given as /proc/PID/root/PATH. */
int fuse_restore_prepare(struct rst_ctx *ctx)
{
	for (unsigned i = 0; i < fr.nr_ext; i++) {
		const char *src = fr.ext[i]->source, *rest;

		if (fr.ext_tree[i] >= 0)
			continue;
		struct ext_src x = { src, -1 };
		char nspath[64];
		unsigned long pid;
		char *end;
		int fd;

		if (!strncmp(src, "/proc/", 6) && (pid = strtoul(src + 6, &end, 10)) && pid < INT_MAX &&
		    !strncmp(end, "/root/", 6)) {
			rest = end + 5;
			snprintf(nspath, sizeof(nspath), "/proc/%lu/ns/mnt", pid);
			x.ns = open(nspath, O_RDONLY | O_CLOEXEC);
			if (x.ns < 0) {
				pr_perror("mount %s: cannot open the mount namespace of its source %s",
					  fr.ext[i]->mountpoint, src);
				return -errno;
			}
			x.path = rest;
		}
		fd = ns_child_fd(NULL, ext_clone, &x);
		if (x.ns >= 0)
			close(x.ns);
		if (fd < 0) {
			pr_err("mount %s: cannot take its source %s: %s", fr.ext[i]->mountpoint, src,
			       strerror(-fd));
			return fd;
		}
		fr.ext_tree[i] = rst_svc_fd(ctx, fd);
		if (fr.ext_tree[i] < 0)
			return fr.ext_tree[i];
	}
	for (unsigned i = 0; i < fr.nr_mnts; i++) {
		if (fr.conn[i] >= 0)
			continue;
		fr.conn[i] = rst_svc_fd(ctx, open("/dev/fuse", O_RDWR | O_CLOEXEC));
		if (fr.conn[i] < 0) {
			pr_perror("fuse mount %u: cannot open /dev/fuse", fr.mnts[i]->mnt_id);
			return fr.conn[i];
		}
	}
	return 0;
}

/*
 * Answer the kernel's FUSE_INIT on the server's behalf. The server keeps what
 * it negotiated with the first connection (libfuse: se->conn, and it answers
 * a second INIT with EIO), and we cannot read what that was. So we grant the
 * least that every server already lives with:
 *  - major 7, minor min(kernel's, 26): 26 is the oldest protocol libfuse 3
 *    speaks; from 7.12 on, no request or reply changes layout with the minor
 *    (later additions are gated by INIT flags, and we set none), and 7.16
 *    (BATCH_FORGET) and 7.23 (RENAME2, time_gran) ask nothing a libfuse
 *    server cannot answer. A raw server that negotiated below 7.26 may get
 *    these requests and answer ENOSYS.
 *  - flags 0: no async reads, writeback cache, readdirplus, splice, posix or
 *    flock locks, export, no-open... The kernel then falls back to the basic
 *    requests (OPEN, READ, READDIR, SETATTR for O_TRUNC) that every server
 *    serves, and does locking and permission masking itself.
 *  - max_write 4096: the kernel's floor (it raises anything smaller to it),
 *    so a read of /dev/fuse needs no more than FUSE_MIN_READ_BUFFER (8192)
 *    bytes, the size every working server's buffer already has.
 *  - max_readahead as the kernel offers; max_background and
 *    congestion_threshold 0 (the kernel's defaults), max_pages unset (32).
 */
static int fuse_init_reply(int fd, const char *mnt)
{
	_cleanup_free_ uint8_t *buf = malloc(FUSE_RD_BUF);
	struct fuse_in_header *ih = (void *)buf;
	struct fuse_init_in in;
	struct {
		struct fuse_out_header h;
		struct fuse_init_out o;
	} rep;
	struct pollfd pl = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	if (poll(&pl, 1, FUSE_INIT_MS) <= 0) {
		pr_err("fuse %s: the kernel sent no FUSE_INIT after the mount", mnt);
		return -ETIMEDOUT;
	}
	n = read(fd, buf, FUSE_RD_BUF);
	if (n < 0) {
		pr_perror("fuse %s: cannot read FUSE_INIT", mnt);
		return -errno;
	}
	if ((size_t)n < sizeof(*ih) + offsetof(struct fuse_init_in, flags) + sizeof(in.flags) ||
	    ih->len != (uint32_t)n || ih->opcode != FUSE_INIT) {
		pr_err("fuse %s: the first request is not FUSE_INIT (opcode %u, %zd bytes)", mnt,
		       (size_t)n >= sizeof(*ih) ? ih->opcode : 0, n);
		return -EPROTO;
	}
	memset(&in, 0, sizeof(in));
	memcpy(&in, buf + sizeof(*ih), min_t(size_t, sizeof(in), (size_t)n - sizeof(*ih)));
	memset(&rep, 0, sizeof(rep));
	rep.h.len = sizeof(rep);
	rep.h.unique = ih->unique;
	if (in.major != FUSE_KERNEL_VERSION) {
		pr_err("fuse %s: the kernel speaks FUSE %u.%u, not %u", mnt, in.major, in.minor,
		       FUSE_KERNEL_VERSION);
		return -EPROTO;
	}
	rep.o.major = FUSE_KERNEL_VERSION;
	rep.o.minor = min_t(uint32_t, in.minor, FUSE_RST_MINOR);
	rep.o.max_readahead = in.max_readahead;
	rep.o.flags = 0;
	rep.o.max_write = FUSE_RST_MAX_WRITE;
	if (write(fd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep)) {
		pr_perror("fuse %s: cannot answer FUSE_INIT", mnt);
		return errno ? -errno : -EIO;
	}
	pr_info("fuse %s: FUSE_INIT answered (7.%u, max_write %u)", mnt, rep.o.minor, rep.o.max_write);
	return 0;
}

/* In the mount namespace helper (mount_one()): the superblock of m, on target. */
int fuse_mount(struct rst_ctx *ctx, const MntEntry *m, const char *target)
{
	int i = fr_index(m->id);
	const FuseMntEntry *e;
	char opts[512], extra[160] = "";

	(void)ctx;
	if (i < 0 || fr.conn[i] < 0)
		return -ENOENT;
	e = fr.mnts[i];
	if (e->has_max_read)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",max_read=%u", e->max_read);
	if (e->has_blksize)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",blksize=%u", e->blksize);
	if (e->subtype)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",subtype=%s", e->subtype);
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=%o,user_id=%u,group_id=%u%s%s%s", fr.conn[i],
		 e->rootmode & (S_IFMT | 07777), e->user_id, e->group_id,
		 e->allow_other ? ",allow_other" : "", e->default_permissions ? ",default_permissions" : "",
		 extra);
	if (mount(m->source ? m->source : "fuse", target, "fuse", m->flags & ~MS_RDONLY, opts) < 0) {
		int ret = -errno;

		pr_perror("fuse %s: cannot mount it (%s)", m->mountpoint, opts);
		return ret;
	}
	return fuse_init_reply(fr.conn[i], m->mountpoint);
}

/* Whether mount_one() must leave m for fuse_restore_binds(). */
bool fuse_mnt_held(const MntEntry *m)
{
	if (fr.binding)
		return false;
	for (unsigned i = 0; i < fr.nr_mnts; i++)
		for (size_t k = 0; k < fr.mnts[i]->n_binds; k++)
			if (fr.mnts[i]->binds[k] == m->id)
				return true;
	return false;
}

static int fuse_validate(struct rst_ctx *ctx, struct file_obj *f)
{
	FuseEntry *e = f->msg;

	(void)ctx;
	if ((e->flags & ~(O_ACCMODE | O_NONBLOCK)) || (e->flags & O_ACCMODE) != O_RDWR ||
	    (e->has_mnt_id && fr_index(e->mnt_id) < 0)) {
		pr_err("image fuse.img: /dev/fuse file %u has flags 0%o or names no FUSE mount (%u)", e->id,
		       e->flags, e->mnt_id);
		return -EINVAL;
	}
	return 0;
}

/* OPEN: the mount's own /dev/fuse file for the first descriptor of a
 * connection, a clone of it for the others; a fresh one when unmounted. */
static int fuse_open(struct rst_ctx *ctx, struct file_obj *f)
{
	FuseEntry *e = f->msg;
	int i = e->has_mnt_id ? fr_index(e->mnt_id) : -1, fd, ret;

	if (i >= 0 && fr.conn[i] < 0) {
		pr_err("/dev/fuse file %u: its mount %u was not made", e->id, e->mnt_id);
		return -ENOENT;
	}
	if (i >= 0 && !fr.nr_files[i]++) {
		fd = fcntl(fr.conn[i], F_DUPFD_CLOEXEC, 0);
	} else {
		uint32_t oldfd = i >= 0 ? (uint32_t)fr.conn[i] : 0;

		fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
		if (fd >= 0 && i >= 0 && ioctl(fd, FUSE_DEV_IOC_CLONE, &oldfd) < 0) {
			pr_perror("/dev/fuse file %u: cannot join the connection of mount %u", e->id, e->mnt_id);
			close(fd);
			return -errno;
		}
	}
	if (fd < 0) {
		pr_perror("/dev/fuse file %u: cannot open it", e->id);
		return -errno;
	}
	if ((ret = file_set_flags(fd, e->flags))) {
		close(fd);
		return ret;
	}
	f->fd = rst_svc_fd(ctx, fd);
	return f->fd < 0 ? f->fd : 0;
}

#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

/* In fuse_restore_binds()'s child: one held bind, in the tree's mount
 * namespace. A source among the controller's own mounts (libvirt's
 * NAME.fuse/meminfo for the container's /proc/meminfo) is cloned in the
 * controller's namespace and moved into the container's. */
static int bind_one(struct rst_ctx *ctx, const MntEntry *m)
{
	_cleanup_close_ int tree = -1;

	if (!m)
		return -ENOENT;
	if (!m->src_outer)
		return mnt_enter() < 0 ? -EIO : mnt_restore_one(ctx, m);
	if (mnt_outer_fd() < 0 || setns(mnt_outer_fd(), CLONE_NEWNS) < 0) {
		pr_perror("mount %s: cannot enter the controller's mount namespace", m->mountpoint);
		return -EIO;
	}
	tree = syscall(SYS_open_tree, AT_FDCWD, m->source, 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC);
	if (tree < 0) {
		pr_perror("mount %s: cannot take its source %s", m->mountpoint, m->source);
		return -errno;
	}
	if (mnt_enter() < 0)
		return -EIO;
	if (syscall(SYS_move_mount, tree, "", AT_FDCWD, m->mountpoint, MOVE_MOUNT_F_EMPTY_PATH) < 0 ||
	    (m->flags && mount(NULL, m->mountpoint, NULL, MS_REMOUNT | MS_BIND | m->flags, NULL) < 0)) {
		pr_perror("mount %s: cannot bind %s of the controller's there", m->mountpoint, m->source);
		return -errno;
	}
	return 0;
}

/*
 * Once the tree runs: the binds of the FUSE fs's files, which need lookups
 * only the restored server can answer. A child of lxc-cr makes them in the
 * tree's mount namespace; it is killed (and the restore fails) if the server
 * does not answer in FUSE_BIND_MS.
 */
int fuse_restore_binds(struct rst_ctx *ctx)
{
	struct pollfd pl;
	int st, pidfd, ret = 0;
	unsigned nr = 0;
	pid_t pid;

	for (unsigned i = 0; i < fr.nr_mnts; i++)
		nr += fr.mnts[i]->n_binds;
	if (!nr)
		return 0;
	/* the tree runs already: a failure from here on kills it */
	if ((ret = fault_inject("fuse-binds")))
		return ret;
	pid = fork();
	if (pid < 0) {
		pr_perror("cannot fork to bind the FUSE filesystems' files");
		return -errno;
	}
	if (pid == 0) {
		log_set_prefix("fuse: ");
		fr.binding = true;
		for (unsigned i = 0; i < fr.nr_mnts; i++)
			for (size_t k = 0; k < fr.mnts[i]->n_binds; k++)
				if (bind_one(ctx, ns_mnt(ctx, fr.mnts[i]->binds[k])) < 0)
					_exit(1);
		_exit(0);
	}
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	pl.fd = pidfd;
	pl.events = POLLIN;
	if (pidfd < 0 || poll(&pl, 1, FUSE_BIND_MS) <= 0) {
		pr_err("the binds of FUSE files were not made in %u s: the restored server does not answer",
		       FUSE_BIND_MS / 1000);
		kill(pid, SIGKILL);
		ret = -ETIMEDOUT;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (pidfd >= 0)
		close(pidfd);
	if (!ret && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		pr_err("the binds of FUSE files failed");
		ret = -EIO;
	}
	if (!ret)
		pr_info("%u binds of FUSE files made", nr);
	return ret;
}

void fuse_restore_fini(void)
{
	for (unsigned i = 0; i < fr.nr_mnts; i++) {
		if (fr.conn && fr.conn[i] >= 0)
			close(fr.conn[i]);
		img_free_pb(fr.mnts[i]);
	}
	for (unsigned i = 0; i < fr.nr_ext; i++)
		if (fr.ext_tree[i] >= 0)
			close(fr.ext_tree[i]);
	fr.nr_ext = 0;
	free(fr.mnts);
	free(fr.conn);
	free(fr.nr_files);
	fr.mnts = NULL;
	fr.conn = NULL;
	fr.nr_files = NULL;
	fr.nr_mnts = 0;
}

const struct fdtype_ops fuse_fd_ops = {
	.type = FD_TYPES__FUSE,
	.name = "fuse",
	.img = IMG_FUSE,
	.desc = &fuse_entry__descriptor,
	.match = fuse_match,
	.dump = fuse_dump,
	.validate = fuse_validate,
	.open = fuse_open,
};
