/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ct-launch: start a container the way libvirt's LXC driver does, without
 * libvirt, and stay alive as its controller (the libvirt_lxc role).
 *
 *   ct-launch --name N --rootfs DIR [--veth-host NAME --bridge BR
 *             --ip ADDR/PFX --gw ADDR] [--cgroup-parent P]
 *             [--memory-limit BYTES] [--console-log FILE] [--console-in FIFO]
 *             [--monitor SOCK] [--threads N] [--pidfile F]
 *             [--userns] [--no-console-stdio] [--no-cgroups]
 *             [--cgroup-mounts] [--libvirt-mounts] [--slave] [--fake-fuse]
 *             -- CMD [ARGS...]
 *
 * What it builds, in libvirt's order (src/lxc/lxc_controller.c and
 * lxc_container.c):
 *   1. the controller enters a private mount namespace and mounts, under
 *      /run/lxc-cr-ct/N.{dev,devpts}, a tmpfs with the device nodes and a
 *      new devpts instance; the console PTY master is opened from that
 *      devpts' ptmx (libvirt: /run/libvirt/lxc/N.devpts/ptmx);
 *   2. init is cloned into new pid/mnt/uts/ipc/net namespaces and waits;
 *   3. a veth pair: the host end NAME on bridge BR, the other end moved
 *      into init's netns as eth0 with ADDR and a default route via GW;
 *   4. cgroup v1 dirs P/lxc-CTLPID-N.libvirt-lxc (P defaults to "machine")
 *      in every mounted hierarchy; init and then the controller join them
 *      (as libvirt does), memory.limit_in_bytes and a devices whitelist;
 *   5. init sets its hostname, makes its mounts private, bind-mounts the
 *      rootfs onto itself, mounts proc, sysfs (ro), moves the dev tmpfs to
 *      /dev and the devpts to /dev/pts, binds the console slave on
 *      /dev/console, pivot_root()s, makes the slave its stdio and
 *      controlling tty (setsid + TIOCSCTTY) and execs CMD.
 * With --no-console-stdio init's stdio is the container's /dev/null and it
 * has no controlling tty (the console stays bound on /dev/console): a tree
 * that holds no descriptor on the console master outside it. With
 * --no-cgroups the container stays in the controller's cgroups (step 4 is
 * skipped): for tests of something else, which restore without a controller.
 * With --slave the controller's mount namespace is a slave of its
 * caller's (libvirt's MS_SLAVE | MS_REC), not private. With --fake-fuse it
 * also mounts a tmpfs on /run/lxc-cr-ct/N/N.fuse holding a file "meminfo"
 * that init binds on its /proc/meminfo: the shape of libvirt's FUSE mount
 * (lxc-fuse serving /proc/meminfo), without FUSE.
 * With --cgroup-mounts init also gets libvirt's view of its cgroups: a tmpfs
 * on /sys/fs/cgroup with its cgroup directory of each hierarchy bound there.
 * With --libvirt-mounts init builds exactly the mounts libvirt 9.0.0's
 * lxcContainerSetupPivotRoot builds, in its order (child_libvirt_mounts()),
 * instead of step 5's: its mountinfo lists /dev/pts before its parent /dev,
 * /proc/sys is a ro bind of its proc's sys, /proc/sys/net/ipv{4,6} are binds
 * from the host's proc, /sys/fs/cgroup a tmpfs with the whole v1
 * hierarchies bound, /dev/ptmx, /dev/tty1 and /dev/console file binds of the
 * devpts instance's ptmx and console pty. One difference: libvirt binds
 * /proc/meminfo from its controller's FUSE mount; here it is a bind of a
 * regular file of the controller's /dev tmpfs (/dev/.meminfo).
 * Then it relays the console to --console-log (and what is written into the
 * FIFO --console-in, which it makes and holds open read-write, back into
 * the console: libvirt's relay of the host pty), listens on the UNIX socket
 * --monitor (libvirt's NAME.sock; it accepts nobody), keeps --threads N idle
 * threads blocked in poll() (libvirt_lxc has its gmain and lxc-fuse ones),
 * writes init's host PID to --pidfile, kills init on SIGTERM/SIGINT/SIGHUP, reaps it, and removes the
 * veth, the cgroups, the state dirs (and a bridge it created) on the way out.
 * Its mounts live only in its own mount namespace and in init's.
 * Exit status: init's (128+signal if killed; 0 after a requested stop),
 * 1 if setting up failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <linux/fuse.h>

#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define STATE_ROOT "/run/lxc-cr-ct"
#define CHILD_STACK (256 * 1024)

struct opts {
	const char *name;
	const char *rootfs;
	const char *veth_host;
	const char *bridge;
	const char *ip;
	const char *gw;
	const char *cg_parent;
	const char *memory_limit;
	const char *console_log;
	const char *console_in;
	const char *monitor;
	int threads;
	const char *pidfile;
	bool userns;
	bool no_console_stdio;
	bool no_cgroups;
	bool ns_slave;
	bool fake_fuse;
	bool real_fuse;
	bool cgroup_mounts;
	bool libvirt_mounts;
	char **argv;
};

/* One cgroup v1 hierarchy we placed the container in. */
struct cg_hier {
	char *mnt;	/* /sys/fs/cgroup/memory */
	char *orig;	/* the controller's cgroup before joining, "/..." */
	char *dir;	/* full path of the container's cgroup */
	bool parent_made;
	char *parent_dir;
};

struct ctl {
	struct opts o;
	char *state_dir;	/* STATE_ROOT/N */
	char *dev_dir;		/* STATE_ROOT/N/N.dev */
	char *devpts_dir;	/* STATE_ROOT/N/N.devpts */
	char *fuse_dir;		/* STATE_ROOT/N/N.fuse (--fake-fuse) */
	bool dev_mounted, devpts_mounted, fuse_mounted;
	int master;
	int pty_index;
	pid_t init_pid;
	int go_pipe[2];		/* controller -> init: setup done */
	int err_pipe[2];	/* init -> controller: error text, EOF on exec */
	bool veth_made, bridge_made;
	struct cg_hier cg[16];
	int ncg;
	char *cg_rel;		/* P/lxc-CTLPID-N.libvirt-lxc */
};

static const char *prog = "ct-launch";

static void __attribute__((format(printf, 1, 2))) err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define perr(fmt, ...) err(fmt ": %s", ##__VA_ARGS__, strerror(errno))

static int write_str(const char *path, const char *s)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno;
	close(fd);
	return ret;
}

static char *read_line(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return xstrdup(buf);
}

static int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = xstrdup(path);
	char *s;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * Run `ip ARGS...` (iproute2), in the network namespace of @netns_pid when it
 * is not 0. Returns ip's exit code, -1 if it could not run.
 */
static int run_ip(pid_t netns_pid, bool quiet, ...)
{
	const char *argv[32];
	int n = 0, status;
	va_list ap;
	pid_t pid;

	argv[n++] = "ip";
	va_start(ap, quiet);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;

	pid = fork();
	if (pid < 0) {
		perr("fork");
		return -1;
	}
	if (pid == 0) {
		if (netns_pid) {
			char path[64];
			int fd;

			snprintf(path, sizeof(path), "/proc/%d/ns/net", netns_pid);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
				perr("setns %s", path);
				_exit(127);
			}
		}
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY);

			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		execvp("ip", (char **)argv);
		perr("exec ip");
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status))
		return -1;
	if (WEXITSTATUS(status) && !quiet) {
		char cmd[512] = "";
		int i;

		for (i = 0; argv[i]; i++) {
			strncat(cmd, " ", sizeof(cmd) - strlen(cmd) - 1);
			strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 1);
		}
		err("failed:%s", cmd);
	}
	return WEXITSTATUS(status);
}

/* ---------------------------------------------------------------- /dev */

static const struct {
	const char *name;
	unsigned int maj, min;
} dev_nodes[] = {
	{ "null", 1, 3 },
	{ "zero", 1, 5 },
	{ "full", 1, 7 },
	{ "random", 1, 8 },
	{ "urandom", 1, 9 },
	{ "tty", 5, 0 },
};

static const struct {
	const char *name, *target;
} dev_links[] = {
	{ "ptmx", "pts/ptmx" },
	{ "fd", "/proc/self/fd" },
	{ "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" },
};

/*
 * The container's /dev and /dev/pts, prepared by the controller
 * (virLXCControllerSetupDev, virLXCControllerSetupDevPTS), and the console
 * master opened from that devpts instance (lxcCreateTty).
 */
static int setup_devpts(struct ctl *c);

static int setup_dev(struct ctl *c)
{
	static const char meminfo[] = "MemTotal:         131072 kB\nMemFree:          131072 kB\n";
	char path[PATH_MAX];
	unsigned int i;
	int fd;

	c->state_dir = xsprintf("%s/%s", STATE_ROOT, c->o.name);
	c->dev_dir = xsprintf("%s/%s.dev", c->state_dir, c->o.name);
	c->devpts_dir = xsprintf("%s/%s.devpts", c->state_dir, c->o.name);
	if (mkdir_p(STATE_ROOT, 0700) < 0 || mkdir(c->state_dir, 0700) < 0) {
		perr("mkdir %s", c->state_dir);
		free(c->state_dir);
		c->state_dir = NULL;	/* not ours: another container's */
		return -1;
	}
	if (mkdir(c->dev_dir, 0755) < 0 || mkdir(c->devpts_dir, 0755) < 0) {
		perr("mkdir in %s", c->state_dir);
		return -1;
	}

	/* libvirt's controller mounts the devpts instance first
	 * (virLXCControllerSetupDevPTS, then PopulateDevices): its copy in
	 * init's namespace is older than the /dev tmpfs's, and listed first */
	if (c->o.libvirt_mounts && setup_devpts(c) < 0)
		return -1;
	if (mount("devfs", c->dev_dir, "tmpfs", MS_NOSUID, "mode=755,size=64k") < 0) {
		perr("mount tmpfs on %s", c->dev_dir);
		return -1;
	}
	c->dev_mounted = true;
	for (i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		snprintf(path, sizeof(path), "%s/%s", c->dev_dir, dev_nodes[i].name);
		if (mknod(path, S_IFCHR | 0666,
			  makedev(dev_nodes[i].maj, dev_nodes[i].min)) < 0) {
			perr("mknod %s", path);
			return -1;
		}
		chmod(path, 0666);
	}
	snprintf(path, sizeof(path), "%s/pts", c->dev_dir);
	if (mkdir(path, 0755) < 0) {
		perr("mkdir %s", path);
		return -1;
	}
	if (c->o.libvirt_mounts) {
		/* init makes the links and the bind targets (lxcContainerSetupDevices);
		 * this file stands for the FUSE meminfo libvirt binds on /proc/meminfo */
		snprintf(path, sizeof(path), "%s/.meminfo", c->dev_dir);
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
		if (fd < 0 || write_all(fd, meminfo, strlen(meminfo)) < 0) {
			perr("create %s", path);
			return -1;
		}
		close(fd);
		return 0;
	}
	/* Bind-mount target for the console slave. */
	snprintf(path, sizeof(path), "%s/console", c->dev_dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		perr("create %s", path);
		return -1;
	}
	close(fd);
	for (i = 0; i < ARRAY_SIZE(dev_links); i++) {
		snprintf(path, sizeof(path), "%s/%s", c->dev_dir, dev_links[i].name);
		if (symlink(dev_links[i].target, path) < 0) {
			perr("symlink %s", path);
			return -1;
		}
	}
	return setup_devpts(c);
}

/*
 * --fuse: NAME.fuse is a real FUSE filesystem, as libvirt's (lxc_fuse.c:
 * allow_other, "libvirt" as its source), served by a thread of the
 * controller speaking the /dev/fuse protocol: a root directory and a file
 * "meminfo" with fuse_meminfo's content, opened with direct I/O.
 */
static const char fuse_meminfo[] = "MemTotal:         131072 kB\nMemFree:          100000 kB\n";
static int fuse_fd = -1;

static void fuse_reply(uint64_t unique, int error, const void *data, size_t len)
{
	unsigned char out[sizeof(struct fuse_out_header) + 512];
	struct fuse_out_header *h = (void *)out;

	if (len > 512)
		len = 512;
	h->unique = unique;
	h->error = error;
	h->len = sizeof(*h) + (error ? 0 : len);
	if (!error && len)
		memcpy(out + sizeof(*h), data, len);
	if (write(fuse_fd, out, h->len) < 0 && errno != ENOENT)
		perr("fuse reply");
}

static void fuse_attr_of(struct fuse_attr *a, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = ino == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0444;
	a->nlink = ino == FUSE_ROOT_ID ? 2 : 1;
	a->size = ino == FUSE_ROOT_ID ? 0 : sizeof(fuse_meminfo) - 1;
}

static void *fuse_thread(void *arg)
{
	static unsigned char buf[(256 << 12) + 8192];
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		ssize_t n = read(fuse_fd, buf, sizeof(buf));
		struct fuse_in_header *in = (void *)buf;
		void *a = buf + sizeof(*in);

		if (n < 0 && (errno == EINTR || errno == ENOENT))
			continue;
		if (n < (ssize_t)sizeof(*in))
			return NULL;	/* ENODEV: unmounted */
		switch (in->opcode) {
		case FUSE_INIT: {
			struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION, .minor = 26, .max_write = 4096 };

			fuse_reply(in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out e = { .nodeid = 2 };

			fuse_attr_of(&e.attr, 2);
			fuse_reply(in->unique, strcmp(a, "meminfo") ? -ENOENT : 0, &e, sizeof(e));
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out o = { 0 };

			fuse_attr_of(&o.attr, in->nodeid);
			fuse_reply(in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_OPEN:
		case FUSE_OPENDIR: {
			struct fuse_open_out o = { .open_flags = in->opcode == FUSE_OPEN ? FOPEN_DIRECT_IO : 0 };

			fuse_reply(in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_READ: {
			const struct fuse_read_in *r = a;
			size_t len = sizeof(fuse_meminfo) - 1, off = r->offset < len ? r->offset : len;

			fuse_reply(in->unique, 0, fuse_meminfo + off, len - off < r->size ? len - off : r->size);
			break;
		}
		case FUSE_READDIR:
		case FUSE_RELEASE:
		case FUSE_RELEASEDIR:
		case FUSE_FLUSH:
			fuse_reply(in->unique, 0, NULL, 0);
			break;
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
		case FUSE_INTERRUPT:
			break;
		default:
			fuse_reply(in->unique, -ENOSYS, NULL, 0);
		}
	}
}

/* The devpts instance and the console master opened from its ptmx. */
static int setup_devpts(struct ctl *c)
{
	char path[PATH_MAX];
	struct termios tio;
	int ptn, fd;

	/* libvirt's is nosuid only (virLXCControllerSetupDevPTS) */
	if (mount("devpts", c->devpts_dir, "devpts", MS_NOSUID | (c->o.libvirt_mounts ? 0 : MS_NOEXEC),
		  "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0) {
		perr("mount devpts on %s", c->devpts_dir);
		return -1;
	}
	c->devpts_mounted = true;

	if (c->o.fake_fuse) {
		static const char meminfo[] = "MemTotal:         131072 kB\nMemFree:          100000 kB\n";

		c->fuse_dir = xsprintf("%s/%s.fuse", c->state_dir, c->o.name);
		if (c->o.real_fuse) {
			char opts[128];
			pthread_t t;

			fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
			snprintf(opts, sizeof(opts), "fd=%d,rootmode=40755,user_id=0,group_id=0,allow_other", fuse_fd);
			if (fuse_fd < 0 || mkdir(c->fuse_dir, 0755) < 0 ||
			    mount("libvirt", c->fuse_dir, "fuse", MS_NOSUID | MS_NODEV, opts) < 0) {
				perr("mount fuse on %s", c->fuse_dir);
				return -1;
			}
			c->fuse_mounted = true;
			if (pthread_create(&t, NULL, fuse_thread, NULL)) {
				err("cannot create the FUSE thread");
				return -1;
			}
		} else if (mkdir(c->fuse_dir, 0755) < 0 ||
			   mount("fuse-emul", c->fuse_dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=16k") < 0) {
			perr("mount tmpfs on %s", c->fuse_dir);
			return -1;
		} else {
			c->fuse_mounted = true;
		}
		if (!c->o.real_fuse) {
			snprintf(path, sizeof(path), "%s/meminfo", c->fuse_dir);
			fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
			if (fd < 0 || write_all(fd, meminfo, sizeof(meminfo) - 1) < 0) {
				perr("write %s", path);
				if (fd >= 0)
					close(fd);
				return -1;
			}
			close(fd);
		}
	}

	snprintf(path, sizeof(path), "%s/ptmx", c->devpts_dir);
	c->master = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (c->master < 0) {
		perr("open %s", path);
		return -1;
	}
	if (unlockpt(c->master) < 0 || ioctl(c->master, TIOCGPTN, &ptn) < 0) {
		perr("unlockpt/TIOCGPTN");
		return -1;
	}
	c->pty_index = ptn;
	/* libvirt puts the console in raw mode. */
	if (tcgetattr(c->master, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(c->master, TCSADRAIN, &tio);
	}
	return 0;
}

static void cleanup_dev(struct ctl *c)
{
	if (c->master >= 0)
		close(c->master);
	c->master = -1;
	if (c->devpts_mounted && umount2(c->devpts_dir, MNT_DETACH) < 0)
		perr("umount %s", c->devpts_dir);
	if (c->dev_mounted && umount2(c->dev_dir, MNT_DETACH) < 0)
		perr("umount %s", c->dev_dir);
	if (c->fuse_mounted && umount2(c->fuse_dir, MNT_DETACH) < 0)
		perr("umount %s", c->fuse_dir);
	c->dev_mounted = c->devpts_mounted = c->fuse_mounted = false;
	if (!c->state_dir)
		return;
	if (c->fuse_dir)
		rmdir(c->fuse_dir);
	rmdir(c->devpts_dir);
	rmdir(c->dev_dir);
	if (rmdir(c->state_dir) < 0)
		perr("rmdir %s", c->state_dir);
	rmdir(STATE_ROOT);	/* fails while other containers run */
}

/* ------------------------------------------------------------- cgroups */

/* The controller's own path in the hierarchy whose mount dir is @mnt. */
static char *cg_self_path(const char *mnt)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	const char *base = strrchr(mnt, '/') + 1;
	char line[4096];

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char *ctrls, *path;

		line[strcspn(line, "\n")] = '\0';
		ctrls = strchr(line, ':');
		if (!ctrls)
			continue;
		path = strchr(++ctrls, ':');
		if (!path)
			continue;
		*path++ = '\0';
		if (!*ctrls)
			continue;	/* cgroup2 */
		if (!strncmp(ctrls, "name=", 5))
			ctrls += 5;
		if (!strcmp(ctrls, base))
			return xstrdup(path);
	}
	return NULL;
}

static int cg_add_pid(const char *dir, pid_t pid)
{
	char path[PATH_MAX], buf[32];
	int ret;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(buf, sizeof(buf), "%d", pid);
	ret = write_str(path, buf);
	if (ret < 0) {
		errno = -ret;
		perr("add %d to %s", pid, path);
	}
	return ret;
}

/* cpuset children start with empty cpus/mems: copy the parent's. */
static int cg_cpuset_init(const char *dir)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char path[PATH_MAX];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *v = NULL;
		_cleanup_free_ char *parent = xstrdup(dir);

		*strrchr(parent, '/') = '\0';
		snprintf(path, sizeof(path), "%s/%s", parent, files[i]);
		v = read_line(path);
		if (!v)
			return -1;
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (write_str(path, v) < 0)
			return -1;
	}
	return 0;
}

/*
 * Like virLXCCgroupCreate + virLXCCgroupSetup: one dir per v1 hierarchy,
 * init then the controller join, memory limit and devices whitelist.
 */
static int setup_cgroups(struct ctl *c)
{
	static const char *const hiers[] = {
		"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer",
		"blkio", "pids", "net_cls", "perf_event", "systemd",
	};
	static const char *const allow[] = {
		"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
		"c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:229 rwm",
	};
	char path[PATH_MAX];
	unsigned int i, j;
	int k;

	c->cg_rel = xsprintf("%s/lxc-%d-%s.libvirt-lxc", c->o.cg_parent,
			     getpid(), c->o.name);
	for (i = 0; i < ARRAY_SIZE(hiers); i++) {
		char real[PATH_MAX];
		struct cg_hier *h;
		struct statfs sfs;
		bool dup = false;

		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", hiers[i]);
		if (!realpath(path, real) || statfs(real, &sfs) < 0 ||
		    sfs.f_type != CGROUP_SUPER_MAGIC)
			continue;
		for (k = 0; k < c->ncg; k++)
			if (!strcmp(c->cg[k].mnt, real))
				dup = true;	/* cpu -> cpu,cpuacct */
		if (dup)
			continue;

		h = &c->cg[c->ncg++];
		h->mnt = xstrdup(real);
		h->orig = cg_self_path(real);
		if (!h->orig)
			h->orig = xstrdup("/");
		h->parent_dir = xsprintf("%s/%s", real, c->o.cg_parent);
		if (mkdir(h->parent_dir, 0755) == 0) {
			h->parent_made = true;
			if (!strcmp(hiers[i], "cpuset") && cg_cpuset_init(h->parent_dir) < 0) {
				perr("cpuset init %s", h->parent_dir);
				return -1;
			}
		} else if (errno != EEXIST) {
			perr("mkdir %s", h->parent_dir);
			return -1;
		}
		h->dir = xsprintf("%s/%s", real, c->cg_rel);
		if (mkdir(h->dir, 0755) < 0) {
			perr("mkdir %s", h->dir);
			free(h->dir);
			h->dir = NULL;
			return -1;
		}
		if (!strcmp(hiers[i], "cpuset") && cg_cpuset_init(h->dir) < 0) {
			perr("cpuset init %s", h->dir);
			return -1;
		}
		if (!strcmp(hiers[i], "memory") && c->o.memory_limit) {
			snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", h->dir);
			k = write_str(path, c->o.memory_limit);
			if (k < 0) {
				errno = -k;
				perr("write %s", path);
				return -1;
			}
		}
		if (!strcmp(hiers[i], "devices")) {
			snprintf(path, sizeof(path), "%s/devices.deny", h->dir);
			if (write_str(path, "a") < 0) {
				perr("write %s", path);
				return -1;
			}
			snprintf(path, sizeof(path), "%s/devices.allow", h->dir);
			for (j = 0; j < ARRAY_SIZE(allow); j++)
				if (write_str(path, allow[j]) < 0) {
					perr("write %s: %s", path, allow[j]);
					return -1;
				}
		}
		if (cg_add_pid(h->dir, c->init_pid) < 0 || cg_add_pid(h->dir, getpid()) < 0)
			return -1;
	}
	if (!c->ncg) {
		err("no cgroup v1 hierarchy under /sys/fs/cgroup");
		return -1;
	}
	return 0;
}

static void cleanup_cgroups(struct ctl *c)
{
	int i, tries;

	for (i = 0; i < c->ncg; i++) {
		struct cg_hier *h = &c->cg[i];
		_cleanup_free_ char *orig = xsprintf("%s%s", h->mnt, h->orig);

		if (h->dir) {
			/* Leave it first (the controller is in it, as libvirt's). */
			if (cg_add_pid(orig, getpid()) < 0) {
				free(orig);
				orig = xsprintf("%s", h->mnt);
				cg_add_pid(orig, getpid());
			}
			/* Tasks of a dead pid namespace can take a moment to go. */
			for (tries = 0; rmdir(h->dir) < 0 && errno == EBUSY && tries < 200; tries++)
				usleep(10000);
			if (access(h->dir, F_OK) == 0)
				perr("rmdir %s", h->dir);
		}
		if (h->parent_made)
			rmdir(h->parent_dir);	/* fails if others use it */
		free(h->dir);
		free(h->mnt);
		free(h->orig);
		free(h->parent_dir);
	}
	c->ncg = 0;
}

/* ------------------------------------------------------------- network */

static int setup_net(struct ctl *c)
{
	char pid[16];

	if (!c->o.veth_host)
		return 0;
	snprintf(pid, sizeof(pid), "%d", c->init_pid);

	if (run_ip(0, true, "link", "show", "dev", c->o.bridge, NULL) != 0) {
		if (run_ip(0, false, "link", "add", c->o.bridge, "type", "bridge", NULL) != 0)
			return -1;
		c->bridge_made = true;
	}
	if (run_ip(0, false, "link", "set", "dev", c->o.bridge, "up", NULL) != 0)
		return -1;

	/* virNetDevVethCreate + virNetDevSetNamespace, in one step. */
	if (run_ip(0, false, "link", "add", c->o.veth_host, "type", "veth",
		   "peer", "name", "eth0", "netns", pid, NULL) != 0)
		return -1;
	c->veth_made = true;
	if (run_ip(0, false, "link", "set", "dev", c->o.veth_host, "master",
		   c->o.bridge, "up", NULL) != 0)
		return -1;

	/* lxcContainerRenameAndEnableInterfaces, from outside. */
	if (run_ip(c->init_pid, false, "link", "set", "dev", "lo", "up", NULL) != 0)
		return -1;
	if (c->o.ip && run_ip(c->init_pid, false, "addr", "add", c->o.ip,
			      "dev", "eth0", NULL) != 0)
		return -1;
	if (run_ip(c->init_pid, false, "link", "set", "dev", "eth0", "up", NULL) != 0)
		return -1;
	if (c->o.gw && run_ip(c->init_pid, false, "route", "add", "default",
			      "via", c->o.gw, "dev", "eth0", NULL) != 0)
		return -1;
	return 0;
}

static void cleanup_net(struct ctl *c)
{
	if (c->veth_made)
		run_ip(0, true, "link", "del", "dev", c->o.veth_host, NULL);
	if (c->bridge_made)
		run_ip(0, true, "link", "del", "dev", c->o.bridge, NULL);
	c->veth_made = c->bridge_made = false;
}

/* ---------------------------------------------------------------- init */

static void __attribute__((noreturn, format(printf, 2, 3)))
child_fail(struct ctl *c, const char *fmt, ...)
{
	char buf[512];
	int n, e = errno;
	va_list ap;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(e));
	if (write(c->err_pipe[1], buf, strlen(buf)) < 0)
		_exit(126);
	_exit(126);
}

static void child_mount(struct ctl *c, const char *src, const char *rel,
			const char *type, unsigned long flags, const char *data)
{
	char dst[PATH_MAX];

	snprintf(dst, sizeof(dst), "%s%s", c->o.rootfs, rel);
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data) < 0)
		child_fail(c, "mount %s on %s", src ? src : type, dst);
}

/*
 * virCgroupV1BindMount: a tmpfs on /sys/fs/cgroup and, for each hierarchy
 * init is in, its cgroup directory bound on /sys/fs/cgroup/CONTROLLERS, with
 * a symlink per controller of a co-mounted hierarchy (cpu -> cpu,cpuacct).
 * Init's cgroups come from /proc/self/cgroup (the host's /proc, still in
 * view): the controller put it there before letting it go.
 */
static void child_cgroup_mounts(struct ctl *c)
{
	char line[1024], src[PATH_MAX], dst[PATH_MAX + 64];
	FILE *f;

	child_mount(c, "cgroup", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		    "mode=755,size=65536");
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		child_fail(c, "open /proc/self/cgroup");
	while (fgets(line, sizeof(line), f)) {
		char *ctrl = strchr(line, ':'), *path, *name, *p;

		if (!ctrl || !(path = strchr(++ctrl, ':')))
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		if (!*ctrl)
			continue;	/* the v2 hierarchy */
		name = strncmp(ctrl, "name=", 5) ? ctrl : ctrl + 5;
		snprintf(src, sizeof(src), "/sys/fs/cgroup/%s%s", name, strcmp(path, "/") ? path : "");
		snprintf(dst, sizeof(dst), "%s/sys/fs/cgroup/%s", c->o.rootfs, name);
		if (mkdir(dst, 0755) < 0 || mount(src, dst, NULL, MS_BIND, NULL) < 0)
			child_fail(c, "bind %s on %s", src, dst);
		if (!strchr(name, ','))
			continue;
		for (p = strtok(name, ","); p; p = strtok(NULL, ",")) {
			char link[PATH_MAX + 64];

			snprintf(link, sizeof(link), "%s/sys/fs/cgroup/%s", c->o.rootfs, p);
			snprintf(src, sizeof(src), "%s", strrchr(dst, '/') + 1);
			if (symlink(src, link) < 0 && errno != EEXIST)
				child_fail(c, "symlink %s", link);
		}
	}
	fclose(f);
}

/* In the new root, after the pivot: a mount or the reason init failed. */
static void ct_mount(struct ctl *c, const char *src, const char *dst, const char *type,
		     unsigned long flags)
{
	if (mount(src, dst, type, flags, NULL) < 0)
		child_fail(c, "mount %s on %s", src, dst);
}

/* virFileBindMountDevice: an empty file, the device bound on it. */
static void ct_bind_file(struct ctl *c, const char *src, const char *dst)
{
	int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);

	if (fd < 0)
		child_fail(c, "create %s", dst);
	close(fd);
	ct_mount(c, src, dst, NULL, MS_BIND);
}

/*
 * libvirt 9.0.0's lxcContainerSetupPivotRoot for a <filesystem type='mount'>
 * root, step by step in its order (src/lxc/lxc_container.c):
 * lxcContainerPivotRoot, lxcContainerMountBasicFS (lxcBasicMounts[]; no
 * securityfs: it is not mounted on this host, so libvirt skips it too),
 * lxcContainerMountProcFuse (here a file of the /dev tmpfs, see the top),
 * virCgroupV1BindMount, lxcContainerMountFSDev, lxcContainerMountFSDevPTS,
 * lxcContainerSetupDevices, lxcContainerUnmountSubtree("/.oldroot").
 */
static void child_libvirt_mounts(struct ctl *c)
{
	static const char *const ctrls[] = {	/* virCgroupV1Controller order */
		"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer",
		"blkio", "net_cls", "perf_event", "systemd",
	};
	static const struct { const char *src, *dst; } links[] = {
		{ "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" },
		{ "/proc/self/fd/2", "/dev/stderr" },
		{ "/proc/self/fd", "/dev/fd" },
	};
	char old[PATH_MAX], path[PATH_MAX + 64], src[PATH_MAX + 64];
	const unsigned long basic = MS_NOSUID | MS_NOEXEC | MS_NODEV;
	unsigned int i;

	/* lxcContainerPivotRoot: a tmpfs on ROOT/.oldroot holds a bind of
	 * the root at new/; pivot into it, the old root on /.oldroot */
	if (mount("", "/", "none", MS_PRIVATE | MS_REC, NULL) < 0)
		child_fail(c, "make / private");
	snprintf(old, sizeof(old), "%s/.oldroot", c->o.rootfs);
	if (mkdir(old, 0777) < 0 && errno != EEXIST)
		child_fail(c, "mkdir %s", old);
	if (mount("tmprootfs", old, "tmpfs", 0, NULL) < 0)
		child_fail(c, "mount tmpfs on %s", old);
	snprintf(path, sizeof(path), "%s/new", old);
	if (mkdir(path, 0777) < 0)
		child_fail(c, "mkdir %s", path);
	if (mount(c->o.rootfs, path, "none", MS_BIND | MS_REC, NULL) < 0)
		child_fail(c, "bind %s on %s", c->o.rootfs, path);
	if (chdir(path) < 0)
		child_fail(c, "chdir %s", path);
	if (syscall(SYS_pivot_root, ".", ".oldroot") < 0)
		child_fail(c, "pivot_root %s", path);
	if (chdir("/") < 0)
		child_fail(c, "chdir /");

	/* lxcContainerMountBasicFS: ro ones mounted rw, then a ro bind remount */
	mkdir("/proc", 0777);
	ct_mount(c, "proc", "/proc", "proc", basic);
	ct_mount(c, "/proc/sys", "/proc/sys", "none", MS_BIND | basic);
	ct_mount(c, "/proc/sys", "/proc/sys", "none", MS_BIND | MS_REMOUNT | basic | MS_RDONLY);
	ct_mount(c, "/.oldroot/proc/sys/net/ipv4", "/proc/sys/net/ipv4", "none", MS_BIND);
	ct_mount(c, "/.oldroot/proc/sys/net/ipv6", "/proc/sys/net/ipv6", "none", MS_BIND);
	mkdir("/sys", 0777);
	ct_mount(c, "sysfs", "/sys", "sysfs", basic);
	ct_mount(c, "sysfs", "/sys", "none", MS_BIND | MS_REMOUNT | basic | MS_RDONLY);

	/* lxcContainerMountProcFuse: a file bound on /proc/meminfo */
	snprintf(src, sizeof(src), "/.oldroot%s/.meminfo", c->dev_dir);
	ct_mount(c, src, "/proc/meminfo", NULL, MS_BIND);

	/* virCgroupV1BindMount: a tmpfs, each mounted v1 hierarchy bound whole */
	if (mount("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=755,size=65536") < 0)
		child_fail(c, "mount tmpfs on /sys/fs/cgroup");
	for (i = 0; i < ARRAY_SIZE(ctrls); i++) {
		char host[PATH_MAX + 64], real[PATH_MAX];
		struct statfs sfs;
		const char *base;

		snprintf(host, sizeof(host), "/.oldroot/sys/fs/cgroup/%s", ctrls[i]);
		if (!realpath(host, real) || statfs(real, &sfs) < 0 || sfs.f_type != CGROUP_SUPER_MAGIC)
			continue;
		base = strrchr(real, '/') + 1;
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", base);
		if (access(path, F_OK) < 0) {
			if (mkdir(path, 0777) < 0)
				child_fail(c, "mkdir %s", path);
			ct_mount(c, real, path, "none", MS_BIND);
		}
		if (strcmp(base, ctrls[i])) {	/* co-mounted: cpu -> cpu,cpuacct */
			snprintf(src, sizeof(src), "/sys/fs/cgroup/%s", ctrls[i]);
			if (symlink(path, src) < 0 && errno != EEXIST)
				child_fail(c, "symlink %s", src);
		}
	}

	/* lxcContainerMountFSDev, lxcContainerMountFSDevPTS */
	snprintf(src, sizeof(src), "/.oldroot%s", c->dev_dir);
	mkdir("/dev", 0777);
	ct_mount(c, src, "/dev", "none", c->o.userns ? MS_BIND : MS_MOVE);
	snprintf(src, sizeof(src), "/.oldroot%s", c->devpts_dir);
	mkdir("/dev/pts", 0777);
	ct_mount(c, src, "/dev/pts", "none", c->o.userns ? MS_BIND : MS_MOVE);

	/* lxcContainerSetupDevices: links, /dev/ptmx, the console on tty1 and console */
	for (i = 0; i < ARRAY_SIZE(links); i++)
		if (symlink(links[i].src, links[i].dst) < 0)
			child_fail(c, "symlink %s", links[i].dst);
	ct_bind_file(c, "/dev/pts/ptmx", "/dev/ptmx");
	snprintf(src, sizeof(src), "/dev/pts/%d", c->pty_index);
	ct_bind_file(c, src, "/dev/tty1");
	ct_bind_file(c, src, "/dev/console");

	/* lxcContainerUnmountSubtree("/.oldroot", true): the old root, then the
	 * tmpfs under it (the root's recursive bind copied it) */
	if (umount2("/.oldroot", MNT_DETACH) < 0)
		child_fail(c, "detach /.oldroot");
	while (umount2("/.oldroot", MNT_DETACH) == 0)
		;
	if (errno != EINVAL)
		child_fail(c, "detach /.oldroot");
}

/* lxcContainerChild: runs as PID 1 of the new namespaces until exec. */
static int child_main(void *arg)
{
	struct ctl *c = arg;
	char path[PATH_MAX], ch;
	int fd;

	close(c->go_pipe[1]);
	close(c->err_pipe[0]);
	if (read(c->go_pipe[0], &ch, 1) != 1)
		_exit(125);	/* the controller gave up */
	close(c->go_pipe[0]);

	if (sethostname(c->o.name, strlen(c->o.name)) < 0)
		child_fail(c, "sethostname");

	if (c->o.libvirt_mounts) {
		child_libvirt_mounts(c);
		goto stdio;
	}
	/* Nothing we mount must propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(c, "make / private");
	if (mount(c->o.rootfs, c->o.rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		child_fail(c, "bind %s", c->o.rootfs);

	child_mount(c, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	child_mount(c, "sysfs", "/sys", "sysfs",
		    MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
	if (c->fuse_dir) {
		/* lxcContainerMountProcFuse: the controller's file on /proc/meminfo */
		snprintf(path, sizeof(path), "%s/meminfo", c->fuse_dir);
		child_mount(c, path, "/proc/meminfo", NULL, MS_BIND, NULL);
	}
	if (c->o.cgroup_mounts && !c->o.no_cgroups)
		child_cgroup_mounts(c);
	/*
	 * libvirt moves them; mounts inherited into a new user namespace are
	 * locked and cannot be moved, only bound.
	 */
	child_mount(c, c->dev_dir, "/dev", NULL, c->o.userns ? MS_BIND : MS_MOVE, NULL);
	child_mount(c, c->devpts_dir, "/dev/pts", NULL, c->o.userns ? MS_BIND : MS_MOVE, NULL);
	snprintf(path, sizeof(path), "%s/dev/pts/%d", c->o.rootfs, c->pty_index);
	child_mount(c, path, "/dev/console", NULL, MS_BIND, NULL);

	/* lxcContainerPivotRoot, with the old root stacked and detached. */
	if (chdir(c->o.rootfs) < 0)
		child_fail(c, "chdir %s", c->o.rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_fail(c, "pivot_root %s", c->o.rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		child_fail(c, "detach the old root");
	if (chdir("/") < 0)
		child_fail(c, "chdir /");

stdio:
	/* lxcContainerSetStdio */
	if (setsid() < 0)
		child_fail(c, "setsid");
	if (c->o.no_console_stdio) {
		/* the console stays bound on /dev/console, nobody's stdio */
		snprintf(path, sizeof(path), "/dev/null");
		fd = open(path, O_RDWR);
		if (fd < 0)
			child_fail(c, "open %s", path);
	} else {
		snprintf(path, sizeof(path), "/dev/pts/%d", c->pty_index);
		fd = open(path, O_RDWR);
		if (fd < 0)
			child_fail(c, "open %s", path);
		if (ioctl(fd, TIOCSCTTY, 0) < 0)
			child_fail(c, "TIOCSCTTY %s", path);
	}
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		child_fail(c, "dup2");
	if (fd > 2)
		close(fd);
	syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
	{
		/* the controller blocks its signals for its signalfd: not init's */
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}

	clearenv();
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin:/usr/local/bin", 1);
	setenv("TERM", "linux", 1);
	setenv("HOME", "/", 1);
	setenv("container", "lxc-libvirt", 1);
	setenv("LIBVIRT_LXC_NAME", c->o.name, 1);
	execv(c->o.argv[0], c->o.argv);
	child_fail(c, "exec %s", c->o.argv[0]);
}

static int write_id_map(pid_t pid, const char *file, const char *map)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	return write_str(path, map);
}

/* Clone init; it waits on go_pipe until networking and cgroups are there. */
static int spawn_init(struct ctl *c)
{
	int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
		    CLONE_NEWNET | SIGCHLD;
	char *stack;

	if (c->o.userns)
		flags |= CLONE_NEWUSER;
	if (pipe2(c->go_pipe, O_CLOEXEC) < 0 || pipe2(c->err_pipe, O_CLOEXEC) < 0) {
		perr("pipe");
		return -1;
	}
	stack = malloc(CHILD_STACK);
	if (!stack) {
		err("out of memory");
		return -1;
	}
	c->init_pid = clone(child_main, stack + CHILD_STACK, flags, c);
	free(stack);	/* the child has its own copy of the memory */
	if (c->init_pid < 0) {
		perr("clone");
		return -1;
	}
	close(c->go_pipe[0]);
	close(c->err_pipe[1]);
	c->go_pipe[0] = c->err_pipe[1] = -1;

	if (c->o.userns) {
		/* Root inside is root outside: only the namespace is new. */
		if (write_id_map(c->init_pid, "uid_map", "0 0 4294967295") < 0 ||
		    write_id_map(c->init_pid, "gid_map", "0 0 4294967295") < 0) {
			err("cannot write the id maps of %d", c->init_pid);
			return -1;
		}
	}
	return 0;
}

/* Release init and wait until it has exec'ed (or tells why it did not). */
static int start_init(struct ctl *c)
{
	char buf[512];
	ssize_t n;

	if (write(c->go_pipe[1], "g", 1) != 1) {
		perr("release init");
		return -1;
	}
	close(c->go_pipe[1]);
	c->go_pipe[1] = -1;
	do
		n = read(c->err_pipe[0], buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(c->err_pipe[0]);
	c->err_pipe[0] = -1;
	if (n > 0) {
		buf[n] = '\0';
		err("container init: %s", buf);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- controller */

static int write_pidfile(struct ctl *c)
{
	char buf[32], tmp[PATH_MAX];
	int fd;

	if (!c->o.pidfile)
		return 0;
	/* Atomically: a reader never sees an empty file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->o.pidfile);
	snprintf(buf, sizeof(buf), "%d\n", c->init_pid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, buf, strlen(buf)) < 0 || close(fd) < 0 ||
	    rename(tmp, c->o.pidfile) < 0) {
		perr("write %s", c->o.pidfile);
		return -1;
	}
	return 0;
}

/* An idle thread of the controller's, as libvirt_lxc's gmain. */
static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		poll(NULL, 0, -1);
	return NULL;
}

/* libvirt's NAME.sock: listening, nobody accepted (the daemon would). */
static int listen_monitor(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		err("monitor path %s too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 30) < 0) {
		perr("monitor socket %s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The controller's event loop: console relay, signals, reaping. */
static int run_controller(struct ctl *c, int sfd)
{
	int logfd = -1, infd = -1, status = 0, code = -1;
	bool master_hup = false, stopped = false;
	char buf[8192];

	if (c->o.console_log) {
		logfd = open(c->o.console_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (logfd < 0) {
			perr("open %s", c->o.console_log);
			return -1;
		}
	}

	if (c->o.console_in) {
		if (mkfifo(c->o.console_in, 0600) < 0 && errno != EEXIST) {
			perr("mkfifo %s", c->o.console_in);
			return -1;
		}
		/* read-write: never an EOF when a writer goes */
		infd = open(c->o.console_in, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (infd < 0) {
			perr("open %s", c->o.console_in);
			return -1;
		}
	}

	while (code < 0) {
		struct pollfd pfd[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = master_hup ? -1 : c->master, .events = POLLIN },
			{ .fd = infd, .events = POLLIN },
		};
		struct signalfd_siginfo si;
		ssize_t n;

		if (poll(pfd, 3, master_hup ? 200 : -1) < 0) {
			if (errno == EINTR)
				continue;
			perr("poll");
			break;
		}
		/* No slave open yet/any more: poll again a bit later. */
		master_hup = false;

		if (pfd[1].revents) {
			n = read(c->master, buf, sizeof(buf));
			if (n > 0 && logfd >= 0 && write_all(logfd, buf, n) < 0)
				perr("write %s", c->o.console_log);
			/* EIO: no slave open (yet, or any more). */
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				master_hup = true;
		}
		if (pfd[2].revents & POLLIN) {
			n = read(infd, buf, sizeof(buf));
			if (n > 0 && write_all(c->master, buf, n) < 0)
				perr("write to the console");
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo != SIGCHLD) {
			/* virLXCProcessStop: the container is killed. */
			kill(c->init_pid, SIGKILL);
			stopped = true;
			continue;
		}
		for (;;) {
			pid_t pid = waitpid(-1, &status, WNOHANG);

			if (pid <= 0)
				break;
			if (pid != c->init_pid)
				continue;
			code = WIFEXITED(status) ? WEXITSTATUS(status) :
						   128 + WTERMSIG(status);
		}
	}
	/* Whatever init wrote last. */
	while (logfd >= 0) {
		ssize_t n = read(c->master, buf, sizeof(buf));

		if (n <= 0 || write_all(logfd, buf, n) < 0)
			break;
	}
	if (logfd >= 0)
		close(logfd);
	if (infd >= 0)
		close(infd);
	if (stopped && code == 128 + SIGKILL)
		return 0;	/* a requested stop is a success */
	return code < 0 ? 1 : code;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s --name N --rootfs DIR [--veth-host NAME --bridge BR\n"
		"       --ip ADDR/PFX --gw ADDR] [--cgroup-parent P] [--memory-limit BYTES]\n"
		"       [--console-log FILE] [--console-in FIFO] [--monitor SOCK]\n"
		"       [--threads N] [--pidfile F] [--userns] [--no-console-stdio]\n"
		"       [--no-cgroups] [--cgroup-mounts] [--libvirt-mounts] [--slave]\n"
		"       [--fake-fuse] [--fuse]\n"
		"       -- CMD [ARGS...]\n",
		prog);
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "rootfs", required_argument, NULL, 'r' },
		{ "veth-host", required_argument, NULL, 'v' },
		{ "bridge", required_argument, NULL, 'b' },
		{ "ip", required_argument, NULL, 'i' },
		{ "gw", required_argument, NULL, 'g' },
		{ "cgroup-parent", required_argument, NULL, 'c' },
		{ "memory-limit", required_argument, NULL, 'm' },
		{ "console-log", required_argument, NULL, 'l' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "console-in", required_argument, NULL, 'I' },
		{ "monitor", required_argument, NULL, 'M' },
		{ "threads", required_argument, NULL, 'T' },
		{ "userns", no_argument, NULL, 'U' },
		{ "no-console-stdio", no_argument, NULL, 'N' },
		{ "no-cgroups", no_argument, NULL, 'C' },
		{ "slave", no_argument, NULL, 'S' },
		{ "fake-fuse", no_argument, NULL, 'F' },
		{ "fuse", no_argument, NULL, 'u' },
		{ "cgroup-mounts", no_argument, NULL, 'G' },
		{ "libvirt-mounts", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char rootfs[PATH_MAX];
	int opt;

	o->cg_parent = "machine";
	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n': o->name = optarg; break;
		case 'r': o->rootfs = optarg; break;
		case 'v': o->veth_host = optarg; break;
		case 'b': o->bridge = optarg; break;
		case 'i': o->ip = optarg; break;
		case 'g': o->gw = optarg; break;
		case 'c': o->cg_parent = optarg; break;
		case 'm': o->memory_limit = optarg; break;
		case 'l': o->console_log = optarg; break;
		case 'p': o->pidfile = optarg; break;
		case 'I': o->console_in = optarg; break;
		case 'M': o->monitor = optarg; break;
		case 'T': o->threads = atoi(optarg); break;
		case 'U': o->userns = true; break;
		case 'N': o->no_console_stdio = true; break;
		case 'C': o->no_cgroups = true; break;
		case 'S': o->ns_slave = true; break;
		case 'F': o->fake_fuse = true; break;
		case 'u': o->real_fuse = o->fake_fuse = true; break;
		case 'G': o->cgroup_mounts = true; break;
		case 'L': o->libvirt_mounts = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (!o->name || !o->rootfs || optind >= argc) {
		usage(stderr);
		return -1;
	}
	if (!*o->name || strchr(o->name, '/') || strlen(o->name) > 64) {
		err("bad name '%s'", o->name);
		return -1;
	}
	if (!!o->veth_host != !!o->bridge || (o->ip && !o->veth_host)) {
		err("--veth-host and --bridge go together, --ip needs them");
		return -1;
	}
	if (o->libvirt_mounts && o->cgroup_mounts) {
		err("--libvirt-mounts makes its own /sys/fs/cgroup: not with --cgroup-mounts");
		return -1;
	}
	if (!realpath(o->rootfs, rootfs)) {
		err("rootfs '%s': %s", o->rootfs, strerror(errno));
		return -1;
	}
	o->rootfs = rootfs;
	o->argv = argv + optind;
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl c = { .master = -1, .go_pipe = { -1, -1 }, .err_pipe = { -1, -1 } };
	int sfd, ret = 1, mon = -1;
	sigset_t mask;

	if (parse_opts(&c.o, argc, argv) < 0)
		return 2;

	/* Shells here pass stray descriptors; the container gets none. */
	syscall(SYS_close_range, 3, ~0U, 0);

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		perr("signalfd");
		return 1;
	}

	/* virLXCControllerSetupPrivateNS (libvirt makes it a slave: --slave) */
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | (c.o.ns_slave ? MS_SLAVE : MS_PRIVATE), NULL) < 0) {
		perr("private mount namespace");
		return 1;
	}

	if (setup_dev(&c) < 0)
		goto out_dev;
	if (spawn_init(&c) < 0)
		goto out_kill;
	if (setup_net(&c) < 0)
		goto out_kill;
	if (!c.o.no_cgroups && setup_cgroups(&c) < 0)
		goto out_kill;
	if (start_init(&c) < 0)
		goto out_kill;
	if (write_pidfile(&c) < 0)
		goto out_kill;
	if (c.o.monitor && (mon = listen_monitor(c.o.monitor)) < 0)
		goto out_kill;
	for (int i = 0; i < c.o.threads; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, idle_thread, NULL)) {
			err("cannot create thread %d", i);
			goto out_kill;
		}
	}

	ret = run_controller(&c, sfd);
	if (mon >= 0) {
		close(mon);
		unlink(c.o.monitor);
	}
	if (c.o.pidfile)
		unlink(c.o.pidfile);
	goto out_net;

out_kill:
	if (c.go_pipe[1] >= 0)
		close(c.go_pipe[1]);	/* init exits on EOF */
	if (c.init_pid > 0) {
		kill(c.init_pid, SIGKILL);
		while (waitpid(c.init_pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
out_net:
	cleanup_net(&c);
	cleanup_cgroups(&c);
out_dev:
	cleanup_dev(&c);
	free(c.cg_rel);
	free(c.dev_dir);
	free(c.devpts_dir);
	free(c.fuse_dir);
	free(c.state_dir);
	return ret;
}
