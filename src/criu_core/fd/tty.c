/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Terminals. A Unix98 pty pair whose master is in the tree is re-created with
 * the same index, termios, window size, modes, queued data both ways, and its
 * session and foreground group. A terminal whose other end is outside the tree
 * belongs to the caller. Declared with --external tty[RDEV:DEV] (a console
 * whose master a container's controller holds), it is recorded by that key
 * with the session it controls and its foreground group, and at restore the
 * caller hands in a terminal for the key (--inherit-fd, fd/inherit.c) which
 * becomes the session's controlling terminal again. With --shell-job (the
 * caller's own terminal) its descriptors are re-opened from the restorer's
 * stdin. Otherwise the dump is refused.
 *
 * Queued data cannot be read without consuming it, so the dump reads it and
 * writes it straight back (the tree is stopped, nobody else reads), with the
 * line discipline's processing turned off while it passes again. Data queued
 * for a reader in canonical mode comes back as one pending line.
 */
#include <dirent.h>
#include <linux/kcmp.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>

#include "fd/files.h"
#include "ns/ns.h"
#include "restore/restore.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

enum { TTY_MASTER = 1, TTY_SLAVE = 2, TTY_EXTERNAL = 3 };

#define TTY_DATA_MAX	(64 * 1024)
#define PTY_INDEX_MAX	(1 << 20)
#define TTY_KEY_MAX	64

/* pty indexes whose pair state is saved already */
static int *ptys_done;
static unsigned nr_ptys_done;
/* external terminals (by device) whose session is saved already */
static dev_t *ext_done;
static unsigned nr_ext_done;

void tty_dump_fini(void)
{
	free(ptys_done);
	ptys_done = NULL;
	nr_ptys_done = 0;
	free(ext_done);
	ext_done = NULL;
	nr_ext_done = 0;
}

/* "tty[RDEV:DEV]", both in hex (CRIU's spelling), nothing else; 0 or -EINVAL. */
static int parse_tty_key(const char *s, unsigned long long *rdev, unsigned long long *dev)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	size_t a, b;

	if (strncmp(s, "tty[", 4))
		return -EINVAL;
	s += 4;
	a = strspn(s, hex);
	if (!a || a > 16 || s[a] != ':')
		return -EINVAL;
	b = strspn(s + a + 1, hex);
	if (!b || b > 16 || strcmp(s + a + 1 + b, "]"))
		return -EINVAL;
	*rdev = strtoull(s, NULL, 16);
	*dev = strtoull(s + a + 1, NULL, 16);
	return 0;
}

static void tty_key(char *buf, size_t len, dev_t rdev, dev_t dev)
{
	snprintf(buf, len, "tty[%llx:%llx]", (unsigned long long)rdev, (unsigned long long)dev);
}

int tty_dump_check_externals(const struct crc_dump_opts *o)
{
	unsigned long long r, d;

	if (o->nr_externals && !o->externals) {
		pr_err("%u external keys announced, none given", o->nr_externals);
		return -EINVAL;
	}
	for (unsigned i = 0; i < o->nr_externals; i++) {
		uint64_t ino;

		const char *path;

		if (o->externals[i] && unix_ext_key(o->externals[i], &ino))
			continue;
		if (fuse_ext_key(o->externals[i], &path) && !path)
			continue;	/* mnt[MOUNTPOINT]: ns/fuse.c */
		if (!o->externals[i] || parse_tty_key(o->externals[i], &r, &d) < 0) {
			pr_err("--external '%s': expected tty[RDEV:DEV] (the terminal's st_rdev and st_dev in hex), unix[INO] (a unix socket's inode) or mnt[MOUNTPOINT] (a mount of a FUSE filesystem served outside the tree)",
			       o->externals[i] ?: "");
			return -EINVAL;
		}
	}
	return 0;
}

static bool tty_declared(const struct crc_dump_opts *o, dev_t rdev, dev_t dev)
{
	unsigned long long r, d;

	for (unsigned i = 0; i < o->nr_externals; i++)
		if (!parse_tty_key(o->externals[i], &r, &d) && r == (unsigned long long)rdev &&
		    d == (unsigned long long)dev)
			return true;
	return false;
}

static bool is_pts(dev_t rdev);
static int pts_index(dev_t rdev);

/* The one terminal declared external with pty index (rdev and dev into st): 0, else -ENOENT. */
static int declared_index(const struct crc_dump_opts *o, int index, struct stat *st)
{
	unsigned long long r, d;
	int n = 0;

	for (unsigned i = 0; i < o->nr_externals; i++)
		if (!parse_tty_key(o->externals[i], &r, &d) && is_pts(r) && pts_index(r) == index) {
			st->st_rdev = r;
			st->st_dev = d;
			n++;
		}
	return n == 1 ? 0 : -ENOENT;
}

static bool is_ptmx(const struct fd_parms *p)
{
	return major(p->st.st_rdev) == 5 && minor(p->st.st_rdev) == 2;
}

static bool is_pts(dev_t rdev)
{
	return major(rdev) >= 136 && major(rdev) <= 143;
}

static bool tty_match(const struct fd_parms *p)
{
	unsigned maj = major(p->st.st_rdev);

	return S_ISCHR(p->st.st_mode) && (maj == 4 || maj == 5 || is_pts(p->st.st_rdev));
}

static int pts_index(dev_t rdev)
{
	if (major(rdev) == 136)
		return minor(rdev);
	return (major(rdev) - 136) * 256 + minor(rdev);
}

/* A copy of descriptor fd of pid, in this process. */
static int steal_fd(pid_t pid, int fd)
{
	int pfd = syscall(SYS_pidfd_open, pid, 0), nfd;

	if (pfd < 0)
		return -errno;
	nfd = syscall(SYS_pidfd_getfd, pfd, fd, 0);
	if (nfd < 0)
		nfd = -errno;
	close(pfd);
	return nfd;
}

/* The devpts (st_dev) the slave of master mfd lives on, or 0 if unknown. */
static dev_t master_devpts(int mfd)
{
	struct stat st;
	int sfd = ioctl(mfd, TIOCGPTPEER, O_PATH | O_CLOEXEC);
	dev_t dev = 0;

	if (sfd < 0)
		return 0;
	if (fstat(sfd, &st) == 0)
		dev = st.st_dev;
	close(sfd);
	return dev;
}

static int find_in_tree(struct dump_ctx *ctx, int index, dev_t dev, bool master, int mfd);

/*
 * Whether the slaves of pty index on devpts dev belong to another master than
 * mfd (whose devpts is unknown): the tree holds a master of that index on dev
 * that is another open file (a pty master file is shared only as one file).
 */
static bool slave_dev_taken(struct dump_ctx *ctx, int index, dev_t dev, int mfd)
{
	int fd = find_in_tree(ctx, index, dev, true, -1);
	bool taken = false;

	if (fd >= 0) {
		taken = syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, fd, mfd) != 0;
		close(fd);
	}
	return taken;
}

/*
 * A copy of a descriptor in the tree on the master (or a slave) of pty index
 * of the devpts instance dev (0: any). Indexes are per devpts instance: the
 * host's console master and the container's /dev/pts/0 share index 0. The
 * devpts of a master opened through a /dev/ptmx whose mount namespace is gone
 * (the controller's console, opened by a libvirtd since restarted) cannot be
 * asked (TIOCGPTPEER fails): then mfd is that master, and a slave on a devpts
 * whose pty index is another master's of the tree is not its.
 */
static int find_in_tree(struct dump_ctx *ctx, int index, dev_t dev, bool master, int mfd)
{
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *it = ctx->items[i];
		char path[64];
		struct dirent *de;
		DIR *d;
		int found = -ENOENT;

		if (it->state == TASK_ZOMBIE)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", it->pid);
		d = opendir(path);
		if (!d)
			continue;
		while (found < 0 && (de = readdir(d))) {
			struct stat st;
			char fp[300];
			int fd, n;

			if (de->d_name[0] == '.')
				continue;
			snprintf(fp, sizeof(fp), "/proc/%d/fd/%s", it->pid, de->d_name);
			if (stat(fp, &st) < 0 || !S_ISCHR(st.st_mode))
				continue;
			if (master) {
				if (major(st.st_rdev) != 5 || minor(st.st_rdev) != 2)
					continue;
				fd = steal_fd(it->pid, atoi(de->d_name));
				if (fd < 0)
					continue;
				if (ioctl(fd, TIOCGPTN, &n) == 0 && n == index &&
				    (!dev || master_devpts(fd) == dev))
					found = fd;
				else
					close(fd);
			} else if (is_pts(st.st_rdev) && pts_index(st.st_rdev) == index &&
				   (dev ? st.st_dev == dev :
					  mfd < 0 || !slave_dev_taken(ctx, index, st.st_dev, mfd))) {
				fd = steal_fd(it->pid, atoi(de->d_name));
				if (fd >= 0)
					found = fd;
			}
		}
		closedir(d);
		if (found >= 0)
			return found;
	}
	return -ENOENT;
}

/* termios for passing queued data again: no processing, no echo, no canonical lines */
static void raw_pass(struct termios *t)
{
	t->c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IUCLC | IXON |
			IXOFF | IXANY | IMAXBEL);
	t->c_oflag &= ~OPOST;
	t->c_lflag &= ~(ICANON | ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOPRT | ECHOKE | ISIG |
			IEXTEN);
	t->c_cc[VMIN] = 0;
	t->c_cc[VTIME] = 0;
}

/* Wait until fd has len bytes to read (the flip buffer reached the line discipline). */
static int wait_inq(int fd, int len)
{
	for (int i = 0; i < 2000; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n = 0;

		poll(&pfd, 1, 0);	/* flushes pending input into the line discipline */
		if (ioctl(fd, FIONREAD, &n) < 0)
			return -errno;
		if (n >= len)
			return 0;
		usleep(500);
	}
	return -ETIMEDOUT;
}

static int read_queue(int fd, uint8_t **out, size_t *len, int avail)
{
	uint8_t *buf;
	size_t got = 0;

	*out = NULL;
	*len = 0;
	if (avail <= 0)
		return 0;
	if (avail > TTY_DATA_MAX)
		return -EFBIG;
	buf = xzalloc(avail);
	if (!buf)
		return -ENOMEM;
	while (got < (size_t)avail) {
		ssize_t r = read(fd, buf + got, avail - got);

		if (r <= 0) {
			free(buf);
			return r < 0 ? -errno : -EIO;
		}
		got += r;
	}
	*out = buf;
	*len = got;
	return 0;
}

/*
 * Queued data of the pair: what the slave would read (in) and what the master
 * would read (out). Both are read, then written back as they were.
 */
static int pair_data(int mfd, int sfd, TtyInfoEntry *info, int index)
{
	struct termios saved, t;
	uint8_t *in = NULL, *out = NULL;
	size_t in_len = 0, out_len = 0;
	int pkt = 0, n = 0, ret, r2;

	if (tcgetattr(sfd, &saved) < 0)
		return -errno;
	t = saved;
	raw_pass(&t);
	if (tcsetattr(sfd, TCSANOW, &t) < 0)
		return -errno;
	/* the slave's queue: non-canonical now, everything queued is counted */
	{
		struct pollfd pfd = { .fd = sfd, .events = POLLIN };

		poll(&pfd, 1, 0);
	}
	ret = ioctl(sfd, FIONREAD, &n) < 0 ? -errno : 0;
	if (!ret)
		ret = read_queue(sfd, &in, &in_len, n);
	/* the master's queue; packet mode would prefix a status byte */
	if (!ret && ioctl(mfd, TIOCGPKT, &pkt) == 0 && pkt)
		ioctl(mfd, TIOCPKT, &(int){ 0 });
	if (!ret) {
		struct pollfd pfd = { .fd = mfd, .events = POLLIN };

		poll(&pfd, 1, 0);
		n = 0;
		ret = ioctl(mfd, FIONREAD, &n) < 0 ? -errno : 0;
		if (!ret)
			ret = read_queue(mfd, &out, &out_len, n);
	}
	if (ret == -EFBIG)
		pr_err("pty %d: more than %d bytes queued", index, TTY_DATA_MAX);
	/* back as they were, whatever happened */
	if (in_len && (r2 = write_all(mfd, in, in_len)) == 0)
		r2 = wait_inq(sfd, in_len);
	else
		r2 = 0;
	if (!r2 && out_len && (r2 = write_all(sfd, out, out_len)) == 0)
		r2 = wait_inq(mfd, out_len);
	if (r2) {
		pr_err("pty %d: cannot put its queued data back: %s", index, strerror(-r2));
		ret = ret ?: r2;
	}
	if (pkt)
		ioctl(mfd, TIOCPKT, &pkt);
	if (tcsetattr(sfd, TCSANOW, &saved) < 0 && !ret)
		ret = -errno;
	if (!ret) {
		if (in_len) {
			info->has_in_data = true;
			info->in_data.data = in;
			info->in_data.len = in_len;
			in = NULL;
		}
		if (out_len) {
			info->has_out_data = true;
			info->out_data.data = out;
			info->out_data.len = out_len;
			out = NULL;
		}
	}
	free(in);
	free(out);
	return ret;
}

/* The state of pty index, read through a copy of its master. */
static int dump_pair(struct dump_ctx *ctx, struct fd_parms *p, int mfd, int index,
		     TtyInfoEntry *info, struct termios *tio)
{
	_cleanup_close_ int sfd = -1;
	struct winsize ws;
	int v = 0;
	pid_t sid = 0, pgrp = 0;
	int ret;

	if (ioctl(mfd, TIOCGPTLCK, &v) == 0) {
		info->has_locked = true;
		info->locked = v;
	}
	if (ioctl(mfd, TIOCGPKT, &v) == 0) {
		info->has_packet_mode = true;
		info->packet_mode = v;
	}
	if (tcgetattr(mfd, tio) < 0) {
		pr_perror("pid %d fd %d: pty %d: cannot read its termios", p->pid, p->fd, index);
		return -errno;
	}
	info->has_termios = true;
	info->termios.data = (uint8_t *)tio;
	info->termios.len = sizeof(*tio);
	if (ioctl(mfd, TIOCGWINSZ, &ws) == 0) {
		info->has_ws_row = info->has_ws_col = info->has_ws_xpixel = info->has_ws_ypixel = true;
		info->ws_row = ws.ws_row;
		info->ws_col = ws.ws_col;
		info->ws_xpixel = ws.ws_xpixel;
		info->ws_ypixel = ws.ws_ypixel;
	}
	if (ioctl(mfd, TIOCGSID, &sid) == 0 && sid > 0) {
		struct pstree_item *leader = pstree_find(ctx->items, ctx->nr_items, sid);

		if (!leader || leader->sid != sid || leader->state == TASK_ZOMBIE) {
			pr_err("pid %d fd %d: pty %d is the controlling terminal of session %d, which is outside the tree",
			       p->pid, p->fd, index, sid);
			return -ENOTSUP;
		}
		info->has_sid = true;
		info->sid = ns_vpid(sid);
		if (ioctl(mfd, TIOCGPGRP, &pgrp) == 0 && pgrp > 0) {
			info->has_pgrp = true;
			info->pgrp = ns_vpid(pgrp);
		}
	}
	/* the slave: one of the tree's, else a new open of it */
	sfd = find_in_tree(ctx, index, master_devpts(mfd), false, mfd);
	if (sfd < 0 && !info->locked)
		sfd = ioctl(mfd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (sfd < 0)
		return 0;	/* never opened: nothing can be queued for it */
	if (ioctl(sfd, TIOCGEXCL, &v) == 0) {
		info->has_exclusive = true;
		info->exclusive = v;
	}
	ret = pair_data(mfd, sfd, info, index);
	if (ret)
		pr_err("pid %d fd %d: pty %d: cannot save its queued data: %s", p->pid, p->fd, index,
		       strerror(-ret));
	return ret;
}

/* The device number of pid's controlling terminal (tty_nr, 0: none) and its
 * foreground group (tpgid), from /proc/PID/stat. */
static int stat_ctty(pid_t pid, unsigned *tty_nr, pid_t *tpgid)
{
	char path[64], buf[1024], *p;
	int fd, n, sid, pgrp, ppid;
	char state;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d %d %d %u %d", &state, &ppid, &pgrp, &sid, tty_nr, tpgid) != 6)
		return -EIO;
	return 0;
}

/*
 * A terminal declared external: only its key, its open flags and, with the
 * first of its files, the session of the tree it controls and the
 * foreground group. The slave cannot tell these (TIOCGSID on a slave needs
 * it to be the caller's own terminal): /proc/PID/stat of each session leader
 * names its controlling terminal's device (tty_nr) and foreground group.
 */
static int dump_declared(struct dump_ctx *ctx, struct fd_parms *p, TtyFileEntry *e, char *key)
{
	TtyInfoEntry info = TTY_INFO_ENTRY__INIT;
	dev_t *n;

	e->ext_key = key;
	for (unsigned i = 0; i < nr_ext_done; i++)
		if (ext_done[i] == p->st.st_rdev)
			return img_write_pb(dump_img(ctx, IMG_TTY), &e->base);
	n = xrealloc_array(ext_done, nr_ext_done + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	ext_done = n;
	ext_done[nr_ext_done++] = p->st.st_rdev;
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *it = ctx->items[i];
		unsigned tty_nr = 0;
		pid_t tpgid = 0;

		if (it->state == TASK_ZOMBIE || it->sid != it->pid || stat_ctty(it->pid, &tty_nr, &tpgid))
			continue;
		/* the kernel's encoding: minor low 8 bits, major, then the minor's high bits */
		if (((tty_nr >> 8) & 0xfff) != major(p->st.st_rdev) ||
		    ((tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00)) != minor(p->st.st_rdev))
			continue;
		info.has_sid = true;
		info.sid = ns_vpid(it->pid);
		if (tpgid > 0) {
			bool inside = false;

			for (unsigned j = 0; j < ctx->nr_items; j++)
				if (ctx->items[j]->pgid == tpgid && ctx->items[j]->state != TASK_ZOMBIE)
					inside = true;
			if (inside) {
				info.has_pgrp = true;
				info.pgrp = ns_vpid(tpgid);
			} else {
				pr_warn("pid %d fd %d: the foreground group %d of %s is outside the tree; it is not restored",
					p->pid, p->fd, tpgid, key);
			}
		}
		pr_info("%s: the controlling terminal of session %d (foreground group %d)", key, it->pid,
			tpgid);
		break;
	}
	e->info = &info;
	return img_write_pb(dump_img(ctx, IMG_TTY), &e->base);
}

/* The devpts the tree's /dev/ptmx opens: the one on /dev/pts of its root. */
static int devpts_of(pid_t pid, dev_t *dev)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/root/dev/pts", pid);
	if (stat(path, &st) < 0)
		return -errno;
	*dev = st.st_dev;
	return 0;
}

/* The tree's devpts (its root's /dev/pts, in *dev), or -errno; with a
 * container below the root, dev is the tree's when it is the container's
 * /dev/pts too (a controller's NAME.devpts). */
static int tree_devpts(struct dump_ctx *ctx, dev_t dev, dev_t *own)
{
	dev_t ct = 0;
	int ret = devpts_of(ctx->items[0]->pid, own);

	if (!ret && dev != *own && ns_dump_ct_pid() && !devpts_of(ns_dump_ct_pid(), &ct) && ct == dev)
		*own = ct;
	return ret;
}

/*
 * A master whose slave no process of the tree has open. Its pair cannot be
 * re-created by index when the slave is someone else's: a pty of another
 * devpts than the tree's (libvirt's controller holds the host's console
 * master), or one whose slave is open outside the tree (it is not hung up).
 * Declared with --external tty[RDEV:DEV] (the slave's), the master is
 * recorded by that key with its pair's termios and window size, and at
 * restore the caller hands in a new master (--inherit-fd) that gets them.
 * Undeclared, such a master is refused. 1: recorded; 0: an ordinary pair.
 */
/*
 * Whether a process outside the tree has the slave (rdev on devpts dev)
 * open: its pid, 0 if none. For the container's own devpts, whose slave no
 * process of the tree may hold (ct-launch --no-console-stdio leaves the
 * console only bound on /dev/console): unlocked and never opened is not
 * "outside" when nobody has it.
 */
static pid_t slave_holder(struct dump_ctx *ctx, dev_t rdev, dev_t dev)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	if (!proc)
		return -errno;
	while (!found && (de = readdir(proc))) {
		char path[64];
		pid_t pid = atoi(de->d_name);
		struct dirent *fe;
		bool in_tree = false;
		DIR *fds;

		if (pid <= 0 || pid == getpid())
			continue;
		for (unsigned i = 0; i < ctx->nr_items && !in_tree; i++)
			in_tree = ctx->items[i]->pid == pid;
		if (in_tree)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			char fp[64 + 256];
			struct stat st;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(fp, sizeof(fp), "%s/%s", path, fe->d_name);
			if (stat(fp, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == rdev && st.st_dev == dev) {
				found = pid;
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

static int master_outside(struct dump_ctx *ctx, struct fd_parms *p, int mfd, int index,
			  TtyFileEntry *e)
{
	TtyInfoEntry info = TTY_INFO_ENTRY__INIT;
	_cleanup_close_ int sfd = -1, tfd = -1;
	struct pollfd pfd = { .fd = mfd, .events = POLLIN };
	char key[TTY_KEY_MAX];
	struct termios tio;
	struct winsize ws;
	struct stat st;
	dev_t own = 0;
	int v = 0;

	tfd = find_in_tree(ctx, index, master_devpts(mfd), false, mfd);
	if (tfd >= 0)
		return 0;
	sfd = ioctl(mfd, TIOCGPTPEER, O_PATH | O_CLOEXEC);
	if (sfd < 0 || fstat(sfd, &st) < 0) {
		int err = errno;

		/* opened through a /dev/ptmx of a mount namespace that is gone:
		 * its devpts is out of reach; the caller's declaration names it */
		if (declared_index(ctx->opts, index, &st)) {
			pr_err("pid %d fd %d: pty %d: cannot find its slave (%s; its /dev/ptmx may be in a mount namespace that is gone); declare it with --external tty[RDEV:DEV]",
			       p->pid, p->fd, index, strerror(err));
			return -err;
		}
		pr_info("pid %d fd %d: pty %d: its devpts is out of reach (%s); the slave is the one declared with index %d",
			p->pid, p->fd, index, strerror(err), index);
	}
	tty_key(key, sizeof(key), st.st_rdev, st.st_dev);
	if (!tty_declared(ctx->opts, st.st_rdev, st.st_dev)) {
		bool locked = ioctl(mfd, TIOCGPTLCK, &v) == 0 && v;

		if (!tree_devpts(ctx, st.st_dev, &own) && own != st.st_dev) {
			pr_err("pid %d fd %d: pty master %d (%s) belongs to a devpts (dev %llx) that is not the tree's (its /dev/pts is dev %llx); declare it with --external %s and hand a new master in at restore",
			       p->pid, p->fd, index, p->link, (unsigned long long)st.st_dev,
			       (unsigned long long)own, key);
			return -ENOTSUP;
		}
		poll(&pfd, 1, 0);
		/* the container's devpts below a controller: refused only when held */
		if (!locked && !(pfd.revents & POLLHUP) && ns_dump_ct_pid() && own == st.st_dev &&
		    !devpts_of(ctx->items[0]->pid, &own) && own != st.st_dev) {
			pid_t h = slave_holder(ctx, st.st_rdev, st.st_dev);

			if (h > 0) {
				pr_err("pid %d fd %d: the slave of pty master %d is open by pid %d, outside the tree; declare it with --external %s and hand a new master in at restore",
				       p->pid, p->fd, index, h, key);
				return -ENOTSUP;
			}
			return 0;
		}
		if (!locked && !(pfd.revents & POLLHUP)) {
			pr_err("pid %d fd %d: the slave of pty master %d is open outside the tree (or unlocked and never opened); declare it with --external %s and hand a new master in at restore",
			       p->pid, p->fd, index, key);
			return -ENOTSUP;
		}
		return 0;
	}
	e->ext_key = key;
	e->has_index = true;
	e->index = index;
	if (ioctl(mfd, TIOCGPKT, &v) == 0) {
		info.has_packet_mode = true;
		info.packet_mode = v;
	}
	if (tcgetattr(mfd, &tio) < 0) {
		pr_perror("pid %d fd %d: pty %d: cannot read its termios", p->pid, p->fd, index);
		return -errno;
	}
	info.has_termios = true;
	info.termios.data = (uint8_t *)&tio;
	info.termios.len = sizeof(tio);
	if (ioctl(mfd, TIOCGWINSZ, &ws) == 0) {
		info.has_ws_row = info.has_ws_col = info.has_ws_xpixel = info.has_ws_ypixel = true;
		info.ws_row = ws.ws_row;
		info.ws_col = ws.ws_col;
		info.ws_xpixel = ws.ws_xpixel;
		info.ws_ypixel = ws.ws_ypixel;
	}
	e->info = &info;
	pr_info("pid %d fd %d: pty master %d, its slave %s outside the tree: declared external", p->pid,
		p->fd, index, key);
	return img_write_pb(dump_img(ctx, IMG_TTY), &e->base) ?: 1;
}

static int tty_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	TtyFileEntry e = TTY_FILE_ENTRY__INIT;
	TtyInfoEntry info = TTY_INFO_ENTRY__INIT;
	struct termios tio;
	_cleanup_close_ int mfd = -1;
	int index = -1, ret;
	bool done = false;

	e.id = id;
	e.flags = p->flags;
	e.path = p->link;
	if (is_ptmx(p)) {
		e.kind = TTY_MASTER;
		mfd = steal_fd(p->pid, p->fd);
		if (mfd < 0 || ioctl(mfd, TIOCGPTN, &index) < 0) {
			pr_perror("pid %d fd %d: cannot get its pty number", p->pid, p->fd);
			return mfd < 0 ? mfd : -errno;
		}
		ret = master_outside(ctx, p, mfd, index, &e);
		if (ret)
			return ret < 0 ? ret : 0;
	} else if (is_pts(p->st.st_rdev)) {
		e.kind = TTY_SLAVE;
		index = pts_index(p->st.st_rdev);
		mfd = find_in_tree(ctx, index, p->st.st_dev, true, -1);
		if (mfd < 0)
			e.kind = TTY_EXTERNAL;
	} else {
		e.kind = TTY_EXTERNAL;
	}
	if (e.kind == TTY_EXTERNAL) {
		char key[TTY_KEY_MAX];

		tty_key(key, sizeof(key), p->st.st_rdev, p->st.st_dev);
		if (tty_declared(ctx->opts, p->st.st_rdev, p->st.st_dev))
			return dump_declared(ctx, p, &e, key);
		if (!ctx->opts->shell_job) {
			pr_err("pid %d fd %d: terminal %s is outside the tree: its %s is held by no process of the tree; declare it with --external %s (or --shell-job for the caller's own terminal)",
			       p->pid, p->fd, p->link, is_pts(p->st.st_rdev) ? "pty master" : "other end",
			       key);
			return -ENOTSUP;
		}
		return img_write_pb(dump_img(ctx, IMG_TTY), &e.base);
	}
	e.has_index = true;
	e.index = index;
	for (unsigned i = 0; i < nr_ptys_done; i++)
		if (ptys_done[i] == index)
			done = true;
	if (!done) {
		int *n = xrealloc_array(ptys_done, nr_ptys_done + 1, sizeof(*n));

		if (!n)
			return -ENOMEM;
		ptys_done = n;
		ptys_done[nr_ptys_done++] = index;
		ret = dump_pair(ctx, p, mfd, index, &info, &tio);
		if (ret)
			goto out;
		e.info = &info;
	}
	ret = img_write_pb(dump_img(ctx, IMG_TTY), &e.base);
out:
	free(info.in_data.data);
	free(info.out_data.data);
	return ret;
}

/* ---------------------------------------------------------------- restore */

struct tty_pair {
	int slave;		/* a slave of our own, for the session's terminal */
	TtyInfoEntry *info;
};

static int tty_validate(struct rst_ctx *ctx, struct file_obj *f)
{
	TtyFileEntry *e = f->msg;
	TtyInfoEntry *i = e->info;

	(void)ctx;
	if (e->kind < TTY_MASTER || e->kind > TTY_EXTERNAL ||
	    (e->kind != TTY_EXTERNAL && (!e->has_index || e->index < 0 || e->index >= PTY_INDEX_MAX)) ||
	    (i && i->has_termios && i->termios.len != sizeof(struct termios)) ||
	    (i && i->has_in_data && i->in_data.len > TTY_DATA_MAX) ||
	    (i && i->has_out_data && i->out_data.len > TTY_DATA_MAX)) {
		pr_err("image tty.img: terminal %u is invalid", e->id);
		return -EINVAL;
	}
	if (e->ext_key) {
		unsigned long long r, d;

		if ((e->kind != TTY_EXTERNAL && e->kind != TTY_MASTER) ||
		    strlen(e->ext_key) >= TTY_KEY_MAX || parse_tty_key(e->ext_key, &r, &d) < 0 ||
		    (i && (i->has_in_data || i->has_out_data)) ||
		    (i && e->kind == TTY_EXTERNAL && i->has_termios) ||
		    (i && e->kind == TTY_MASTER && (i->has_sid || i->has_pgrp))) {
			pr_err("image tty.img: terminal %u has an invalid external key", e->id);
			return -EINVAL;
		}
	}
	return 0;
}

static int tty_key_op(const struct file_obj *f, char *buf, size_t len)
{
	TtyFileEntry *e = f->msg;

	if (!e->ext_key || strlen(e->ext_key) >= len)
		return -ENOENT;
	strcpy(buf, e->ext_key);
	return 1;
}

/*
 * A new master for one held outside at dump: the saved termios and window
 * size of the pair (set through the master, they are its slave's), packet
 * mode and file flags. The caller's file is shared, flags included.
 */
static int inherit_master(int fd, TtyFileEntry *e, int index)
{
	TtyInfoEntry *info = e->info;

	pr_info("%s: pty master %d (was %d) from the caller", e->ext_key, index, e->index);
	if (info && info->has_termios &&
	    tcsetattr(fd, TCSANOW, (struct termios *)info->termios.data) < 0) {
		pr_perror("%s: pty %d: cannot set its termios", e->ext_key, index);
		return -errno;
	}
	if (info && info->has_ws_row) {
		struct winsize ws = { .ws_row = info->ws_row, .ws_col = info->ws_col,
				      .ws_xpixel = info->ws_xpixel, .ws_ypixel = info->ws_ypixel };

		if (ioctl(fd, TIOCSWINSZ, &ws) < 0) {
			pr_perror("%s: pty %d: cannot set its window size", e->ext_key, index);
			return -errno;
		}
	}
	if (info && info->has_packet_mode && ioctl(fd, TIOCPKT, &(int){ !!info->packet_mode }) < 0) {
		pr_perror("%s: pty %d: cannot set packet mode", e->ext_key, index);
		return -errno;
	}
	if (fcntl(fd, F_SETFL, e->flags & (O_APPEND | O_NONBLOCK | O_ASYNC)) < 0) {
		pr_perror("%s: cannot set file flags 0%o", e->ext_key, e->flags);
		return -errno;
	}
	return 0;
}

/* The caller's terminal for a declared one: the tasks share it (a dup). */
static int tty_inherit(struct rst_ctx *ctx, struct file_obj *f, int fd)
{
	TtyFileEntry *e = f->msg;
	int nfd;

	(void)ctx;
	if (!isatty(fd)) {
		pr_err("--inherit-fd fd[%d]:%s: descriptor %d is not a terminal", fd, e->ext_key, fd);
		return -ENOTTY;
	}
	if (e->kind == TTY_MASTER) {
		int n, ret;

		if (ioctl(fd, TIOCGPTN, &n) < 0) {
			pr_err("--inherit-fd fd[%d]:%s: descriptor %d is not a pty master, which the images hold there",
			       fd, e->ext_key, fd);
			return -ENOTTY;
		}
		ret = inherit_master(fd, e, n);
		if (ret)
			return ret;
	}
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (nfd < 0) {
		pr_perror("%s: cannot duplicate the inherited fd %d", e->ext_key, fd);
		return -errno;
	}
	return nfd;
}

static int set_flags(int fd, uint32_t flags)
{
	if (fcntl(fd, F_SETFL, flags & (O_APPEND | O_NONBLOCK | O_ASYNC)) < 0) {
		pr_perror("cannot set file flags 0%o", flags);
		return -errno;
	}
	return 0;
}

static int open_external(struct rst_ctx *ctx, struct file_obj *f)
{
	TtyFileEntry *e = f->msg;
	int fd;

	if (!ctx->opts->shell_job) {
		pr_err("terminal %s was outside the tree: restore with --shell-job", e->path);
		return -EINVAL;
	}
	if (!isatty(0)) {
		pr_err("terminal %s: --shell-job gives the restored tree the restorer's terminal, but its stdin is not one",
		       e->path);
		return -ENOTTY;
	}
	fd = reopen_fd(0, (e->flags & ~(O_CREAT | O_TRUNC | O_EXCL)) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("cannot open the restorer's terminal again for %s", e->path);
		return -errno;
	}
	f->fd = rst_svc_fd(ctx, fd);
	return f->fd < 0 ? f->fd : 0;
}

/* A new pty with exactly this index; the ones below it are held meanwhile. */
static int open_ptmx(const char *path, int index)
{
	int *held = xzalloc(sizeof(int) * (index + 1)), nr = 0, fd = -1, ret = 0;

	if (!held)
		return -ENOMEM;
	while (nr <= index) {
		int n = -1;

		fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			pr_perror("pty %d: cannot open %s", index, path);
			ret = -errno;
			break;
		}
		if (ioctl(fd, TIOCGPTN, &n) < 0) {
			pr_perror("pty %d: TIOCGPTN", index);
			ret = -errno;
			break;
		}
		if (n == index)
			break;
		if (n > index) {
			pr_err("pty %d is in use on this host", index);
			ret = -EBUSY;
			break;
		}
		held[nr++] = fd;
		fd = -1;
	}
	if (!ret && nr > index) {
		pr_err("pty %d is in use on this host", index);
		ret = -EBUSY;
	}
	while (nr--)
		close(held[nr]);
	free(held);
	if (ret) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	return fd;
}

static int open_slave(int mfd, uint32_t flags)
{
	return ioctl(mfd, TIOCGPTPEER, (flags & (O_ACCMODE | O_NONBLOCK | O_APPEND)) | O_NOCTTY | O_CLOEXEC);
}

static int put_data(int wfd, int rfd, ProtobufCBinaryData *d, int index, const char *what)
{
	int ret = write_all(wfd, d->data, d->len);

	if (!ret)
		ret = wait_inq(rfd, d->len);
	if (ret)
		pr_err("pty %d: cannot queue its %zu bytes %s again: %s", index, d->len, what,
		       strerror(-ret));
	return ret;
}

static int pair_setup(struct rst_ctx *ctx, int mfd, int sfd, TtyInfoEntry *info, int index)
{
	struct termios saved, t;
	int ret = 0;

	(void)ctx;
	if (info->has_termios) {
		memcpy(&saved, info->termios.data, sizeof(saved));
		t = saved;
		raw_pass(&t);
		if (tcsetattr(sfd, TCSANOW, &t) < 0) {
			pr_perror("pty %d: cannot set its termios", index);
			return -errno;
		}
	}
	if (info->has_in_data && info->in_data.len)
		ret = put_data(mfd, sfd, &info->in_data, index, "for the slave");
	if (!ret && info->has_out_data && info->out_data.len)
		ret = put_data(sfd, mfd, &info->out_data, index, "for the master");
	if (ret)
		return ret;
	if (info->has_termios && tcsetattr(sfd, TCSANOW, &saved) < 0) {
		pr_perror("pty %d: cannot set its termios", index);
		return -errno;
	}
	if (info->has_ws_row) {
		struct winsize ws = { .ws_row = info->ws_row, .ws_col = info->ws_col,
				      .ws_xpixel = info->ws_xpixel, .ws_ypixel = info->ws_ypixel };

		if (ioctl(mfd, TIOCSWINSZ, &ws) < 0) {
			pr_perror("pty %d: cannot set its window size", index);
			return -errno;
		}
	}
	if (info->packet_mode && ioctl(mfd, TIOCPKT, &(int){ 1 }) < 0) {
		pr_perror("pty %d: cannot set packet mode", index);
		return -errno;
	}
	return 0;
}

/*
 * A tree with its container below the root: the console's pair is made by
 * the part above (the controller holds its master, from NAME.devpts/ptmx),
 * while the container's init holds the slave as /dev/pts/N. A slave file is
 * then opened by its saved path where that path names this very pty (same
 * device and devpts instance), so that it is that path again; elsewhere it
 * is left (-ENOENT) to the part of the tree that sees it.
 */
static int slave_by_path(const TtyFileEntry *oe, int sfd)
{
	struct stat a, b;
	int fd;

	if (!oe->path || oe->path[0] != '/' || stat(oe->path, &a) < 0 || fstat(sfd, &b) < 0 ||
	    !S_ISCHR(a.st_mode) || a.st_rdev != b.st_rdev || a.st_dev != b.st_dev)
		return -ENOENT;
	fd = open(oe->path, (oe->flags & (O_ACCMODE | O_NONBLOCK | O_APPEND)) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &a) < 0 || a.st_rdev != b.st_rdev || a.st_dev != b.st_dev) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

/* The pair of pty index made already (by the part of the tree above). */
static struct tty_pair *pair_made(struct rst_ctx *ctx, int index)
{
	for (unsigned i = 0; i < ctx->nr_files; i++) {
		struct file_obj *o = &ctx->files[i];

		if (o->ops == &tty_fd_ops && o->priv && ((TtyFileEntry *)o->msg)->kind != TTY_EXTERNAL &&
		    ((TtyFileEntry *)o->msg)->index == index)
			return o->priv;
	}
	return NULL;
}

static int pty_open(struct rst_ctx *ctx, struct file_obj *f)
{
	TtyFileEntry *e = f->msg;
	TtyInfoEntry *info = NULL;
	struct file_obj *holder = NULL;
	struct tty_pair *pair;
	const char *ptmx = "/dev/ptmx";
	_cleanup_close_ int mfd = -1;
	int sfd, ret = 0;
	bool master_used = false;

	if (ctx->ct && e->kind == TTY_SLAVE && (pair = pair_made(ctx, e->index))) {
		int fd = slave_by_path(e, pair->slave);

		if (fd < 0) {
			pr_err("pty %d: its slave %s is not that pty where it is opened: %s", e->index,
			       e->path ?: "(no path)", strerror(-fd));
			return fd;
		}
		if ((ret = set_flags(fd, e->flags))) {
			close(fd);
			return ret;
		}
		f->fd = rst_svc_fd(ctx, fd);
		return f->fd < 0 ? f->fd : 0;
	}
	for (unsigned i = 0; i < ctx->nr_files; i++) {
		struct file_obj *o = &ctx->files[i];
		TtyFileEntry *oe = o->msg;

		if (o->ops != &tty_fd_ops || oe->kind == TTY_EXTERNAL || oe->ext_key ||
		    oe->index != e->index)
			continue;
		if (oe->info) {
			if (info) {
				pr_err("image tty.img: pty %d is described twice", e->index);
				return -EINVAL;
			}
			info = oe->info;
			holder = o;
		}
		/* the instance the master came from: /dev/pts/ptmx, or the ptmx
		 * of another devpts (a controller's NAME.devpts/ptmx) */
		if (oe->kind == TTY_MASTER && oe->path && strlen(oe->path) > 5 &&
		    !strcmp(oe->path + strlen(oe->path) - 5, "/ptmx") && oe->path[0] == '/')
			ptmx = oe->path;
	}
	if (!info) {
		pr_err("image tty.img: pty %d has no saved state", e->index);
		return -EINVAL;
	}
	mfd = open_ptmx(ptmx, e->index);
	if (mfd < 0)
		return mfd;
	if (ioctl(mfd, TIOCSPTLCK, &(int){ 0 }) < 0) {
		pr_perror("pty %d: cannot unlock", e->index);
		return -errno;
	}
	sfd = open_slave(mfd, O_RDWR | O_NONBLOCK);
	if (sfd < 0) {
		pr_perror("pty %d: cannot open its slave", e->index);
		return -errno;
	}
	sfd = rst_svc_fd(ctx, sfd);
	if (sfd < 0)
		return sfd;
	pair = xzalloc(sizeof(*pair));
	if (!pair) {
		close(sfd);
		return -ENOMEM;
	}
	pair->slave = sfd;
	pair->info = info;
	holder->priv = pair;
	ret = pair_setup(ctx, mfd, sfd, info, e->index);
	/* every file of the pair */
	for (unsigned i = 0; i < ctx->nr_files && !ret; i++) {
		struct file_obj *o = &ctx->files[i];
		TtyFileEntry *oe = o->msg;
		int fd;

		if (o->ops != &tty_fd_ops || oe->kind == TTY_EXTERNAL || oe->ext_key ||
		    oe->index != e->index)
			continue;
		if (oe->kind == TTY_MASTER) {
			if (master_used)
				pr_warn("pty %d: two open files on its master; they become one", e->index);
			master_used = true;
			fd = fcntl(mfd, F_DUPFD_CLOEXEC, 0);
		} else if (ctx->ct) {
			fd = slave_by_path(oe, sfd);
			if (fd == -ENOENT)
				continue;	/* opened by the part that sees it */
			if (fd < 0) {
				errno = -fd;
				fd = -1;
			}
		} else {
			fd = open_slave(mfd, oe->flags);
		}
		if (fd < 0) {
			pr_perror("pty %d: cannot open %s", e->index, oe->path ?: "an end");
			ret = -errno;
			break;
		}
		ret = set_flags(fd, oe->flags);
		if (ret) {
			close(fd);
			break;
		}
		o->fd = rst_svc_fd(ctx, fd);
		if (o->fd < 0)
			ret = o->fd;
	}
	if (!ret && info->exclusive && ioctl(sfd, TIOCEXCL) < 0) {
		pr_perror("pty %d: cannot make it exclusive", e->index);
		ret = -errno;
	}
	if (!ret && info->locked && ioctl(mfd, TIOCSPTLCK, &(int){ 1 }) < 0) {
		pr_perror("pty %d: cannot lock", e->index);
		ret = -errno;
	}
	return ret;
}

static int tty_open(struct rst_ctx *ctx, struct file_obj *f)
{
	TtyFileEntry *e = f->msg;

	if (e->ext_key) {
		pr_err("terminal %s was external at dump: restore needs --inherit-fd fd[N]:%s",
		       e->ext_key, e->ext_key);
		return -ENOENT;
	}
	if (e->kind == TTY_EXTERNAL)
		return open_external(ctx, f);
	return pty_open(ctx, f);
}

static void tty_release(struct file_obj *f)
{
	struct tty_pair *pair = f->priv;

	if (pair && pair->slave >= 0) {
		close(pair->slave);
		pair->slave = -1;
	}
}

/* An inherited terminal's session and foreground group, with the fd it came as. */
static TtyInfoEntry *inherited_info(struct file_obj *o, int *fd)
{
	TtyFileEntry *e = o->msg;

	if (o->ops != &tty_fd_ops || !e->ext_key || !e->info || o->fd < 0)
		return NULL;
	*fd = o->fd;
	return e->info;
}

int tty_restore_ctty(struct rst_ctx *ctx, struct pstree_item *item)
{
	for (unsigned i = 0; i < ctx->nr_files; i++) {
		struct file_obj *o = &ctx->files[i];
		struct tty_pair *pair = o->priv;
		TtyInfoEntry *info;
		int fd;

		info = inherited_info(o, &fd);
		if (info && info->has_sid && info->sid == (uint32_t)item->pid) {
			if (ioctl(fd, TIOCSCTTY, 0) < 0) {
				pr_perror("pid %d: cannot take the inherited terminal %s as its controlling terminal (is it another session's?)",
					  item->pid, ((TtyFileEntry *)o->msg)->ext_key);
				return -errno;
			}
			continue;
		}
		if (o->ops != &tty_fd_ops || !pair || !pair->info->has_sid ||
		    pair->info->sid != (uint32_t)item->pid)
			continue;
		if (ioctl(pair->slave, TIOCSCTTY, 0) < 0) {
			pr_perror("pid %d: cannot take pty %d as its controlling terminal", item->pid,
				  ((TtyFileEntry *)o->msg)->index);
			return -errno;
		}
	}
	return 0;
}

int tty_restore_pgrp(struct rst_ctx *ctx, struct pstree_item *item)
{
	for (unsigned i = 0; i < ctx->nr_files; i++) {
		struct file_obj *o = &ctx->files[i];
		struct tty_pair *pair = o->priv;
		TtyInfoEntry *info;
		pid_t pgrp;
		int fd;

		info = inherited_info(o, &fd);
		if (info && info->has_sid && info->has_pgrp && info->sid == item->pe->sid &&
		    info->pgrp == item->pe->pgid) {
			pgrp = info->pgrp;
			if (ioctl(fd, TIOCSPGRP, &pgrp) < 0) {
				pr_perror("pid %d: cannot make group %d the foreground of the inherited terminal %s",
					  item->pid, pgrp, ((TtyFileEntry *)o->msg)->ext_key);
				return -errno;
			}
			continue;
		}
		if (o->ops != &tty_fd_ops || !pair || !pair->info->has_sid || !pair->info->has_pgrp ||
		    pair->info->sid != item->pe->sid || pair->info->pgrp != item->pe->pgid)
			continue;
		/* a member of the foreground group, now that it joined it; in a
		 * nested PID namespace that cannot see the group, another does */
		pgrp = ns_pid_for(ctx->items, ctx->nr_items, item, pair->info->pgrp);
		if (!pgrp && item->nr_levels > 1)
			continue;
		if (!pgrp)
			pgrp = pair->info->pgrp;
		if (ioctl(pair->slave, TIOCSPGRP, &pgrp) < 0) {
			pr_perror("pid %d: cannot make group %d the foreground of pty %d", item->pid,
				  pgrp, ((TtyFileEntry *)o->msg)->index);
			return -errno;
		}
	}
	return 0;
}

const struct fdtype_ops tty_fd_ops = {
	.type = FD_TYPES__TTY,
	.name = "terminal",
	.img = IMG_TTY,
	.desc = &tty_file_entry__descriptor,
	.match = tty_match,
	.dump = tty_dump,
	.validate = tty_validate,
	.open = tty_open,
	.release = tty_release,
	.key = tty_key_op,
	.inherit = tty_inherit,
};
