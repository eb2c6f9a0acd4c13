/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ct-state: a program run inside a ct-launch container that holds state of
 * the kinds a container's processes hold, for run-cr.sh to checkpoint and
 * restore around it:
 *   - a file on the container's root filesystem, written and left at an
 *     offset, and a directory as its cwd;
 *   - a file and a deleted file on a tmpfs the container mounted (DIR);
 *   - a pty pair from the container's own devpts (/dev/ptmx), with unread
 *     data queued in both directions and its termios changed;
 *   - a UNIX socket listening at a path of the container's root, and a
 *     connected pair with unread data;
 *   - a pipe with data, and a counter in memory that keeps counting.
 *
 *   ct-state STATEDIR TMPDIR [MARK [libvirt]]   (MARK: ignored, names the run in ps)
 *
 * With "libvirt" (a container of ct-launch --libvirt-mounts) it also checks
 * the mounts libvirt gives a container: /dev/ptmx, /dev/tty1 and
 * /dev/console are binds of its /dev/pts instance (the pty pair's too), the
 * console the same pty as at start; /proc/sys read-only and
 * /proc/sys/net/ipv4 writable, showing its own network namespace (only its
 * interfaces under conf/); /sys read-only; /proc/meminfo the file bound
 * over it, as at start; the memory hierarchy under /sys/fs/cgroup.
 *
 * At start it writes STATEDIR/ct-state.pid (its pid, as the container sees
 * it) and STATEDIR/ct-state.ready. On SIGUSR1 it checks every piece of its
 * state and appends "PASS" or "FAIL: why" as one line to STATEDIR/result,
 * then goes on (a restored tree can be checked, dumped and restored again).
 * SIGTERM ends it. Its stdio is the container's /dev/null: everything it
 * has to say goes to files.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#define PATTERN_LEN 8192

static const char *statedir, *tmpdir;
static volatile sig_atomic_t check_req, stop_req;
static volatile unsigned long counter, last_checked;

static int root_fd = -1, tmp_fd = -1, ghost_fd = -1, master = -1, slave = -1;
static int lsk = -1, sk[2] = { -1, -1 }, pfd[2] = { -1, -1 };
static pid_t my_pid;
static char sock_path[108];
static char fail_buf[512];
static int libvirt;			/* check libvirt's mounts too */
static dev_t console_rdev;		/* /dev/console at start */
static char meminfo[256];		/* /proc/meminfo at start */

static void on_usr1(int sig)
{
	(void)sig;
	check_req = 1;
}

static void on_term(int sig)
{
	(void)sig;
	stop_req = 1;
}

static void die(const char *what)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/result", statedir);
	f = fopen(path, "a");
	if (f) {
		fprintf(f, "SETUP FAILED: %s: %s\n", what, strerror(errno));
		fclose(f);
	}
	exit(1);
}

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	if (fail_buf[0])
		return;	/* the first cause is the one worth telling */
	va_start(ap, fmt);
	vsnprintf(fail_buf, sizeof(fail_buf), fmt, ap);
	va_end(ap);
}

static void pattern(unsigned char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)((i * 31 + seed) ^ (i >> 7));
}

static void write_file(const char *name, const char *text)
{
	char path[4096], tmp[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", statedir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) < 0 || close(fd) < 0 || rename(tmp, path) < 0)
		die(path);
}

/* Whole file behind fd equals the pattern of seed, and its offset is off. */
static void check_file(int fd, const char *what, unsigned seed, off_t off)
{
	unsigned char want[PATTERN_LEN], got[PATTERN_LEN];
	off_t cur = lseek(fd, 0, SEEK_CUR);

	if (cur != off) {
		fail("%s: offset %lld, want %lld", what, (long long)cur, (long long)off);
		return;
	}
	pattern(want, sizeof(want), seed);
	if (pread(fd, got, sizeof(got), 0) != (ssize_t)sizeof(got) || memcmp(want, got, sizeof(got)))
		fail("%s: contents differ", what);
}

static void setup(void)
{
	unsigned char buf[PATTERN_LEN];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct termios tio;
	char path[4096];
	int unlock = 0;

	my_pid = getpid();
	pattern(buf, sizeof(buf), 1);
	snprintf(path, sizeof(path), "%s/rootfile", statedir);
	root_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (root_fd < 0 || write(root_fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
	    lseek(root_fd, 1234, SEEK_SET) != 1234)
		die(path);

	pattern(buf, sizeof(buf), 2);
	snprintf(path, sizeof(path), "%s/tmpfile", tmpdir);
	tmp_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0640);
	if (tmp_fd < 0 || write(tmp_fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		die(path);
	pattern(buf, sizeof(buf), 3);
	snprintf(path, sizeof(path), "%s/ghost", tmpdir);
	ghost_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (ghost_fd < 0 || write(ghost_fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
	    lseek(ghost_fd, 77, SEEK_SET) != 77 || unlink(path) < 0)
		die(path);

	master = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0 || !ptsname(master))
		die("/dev/ptmx");
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	if (slave < 0 || tcgetattr(slave, &tio) < 0)
		die(ptsname(master));
	cfmakeraw(&tio);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (tcsetattr(slave, TCSANOW, &tio) < 0 || write(master, "to-slave", 8) != 8 ||
	    write(slave, "to-master", 9) != 9)
		die("pty");

	snprintf(sock_path, sizeof(sock_path), "%s/ct-state.sock", statedir);
	unlink(sock_path);
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	lsk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lsk < 0 || bind(lsk, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lsk, 4) < 0)
		die(sock_path);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sk) < 0 || write(sk[0], "sk-data", 7) != 7)
		die("socketpair");
	if (pipe(pfd) < 0 || write(pfd[1], "pipe-data", 9) != 9)
		die("pipe");
	if (chdir(statedir) < 0)
		die(statedir);
}

/* The first bytes of path, NUL-terminated, or "" when it cannot be read. */
static void read_head(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

static void libvirt_setup(void)
{
	struct stat st;

	if (stat("/dev/console", &st) < 0)
		die("/dev/console");
	console_rdev = st.st_rdev;
	read_head("/proc/meminfo", meminfo, sizeof(meminfo));
	if (strncmp(meminfo, "MemTotal:", 9)) {
		errno = EINVAL;
		die("/proc/meminfo");
	}
}

/* Every entry of /proc/sys/net/ipv4/conf is an interface of /sys/class/net
 * (the container's network namespace: sysfs shows its mounter's), or
 * all/default. */
static void check_net_conf(void)
{
	DIR *d = opendir("/proc/sys/net/ipv4/conf");
	struct dirent *de;
	char path[512];
	struct stat st;

	if (!d) {
		fail("/proc/sys/net/ipv4/conf: %s", strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "all") || !strcmp(de->d_name, "default"))
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s", de->d_name);
		if (stat(path, &st) < 0)
			fail("/proc/sys/net/ipv4/conf/%s: not an interface of the container (another namespace's view)",
			     de->d_name);
	}
	closedir(d);
}

static void check_libvirt(void)
{
	struct stat pts, st, tty1;
	struct statvfs vfs;
	char buf[256];
	int fd;

	if (stat("/dev/pts", &pts) < 0) {
		fail("/dev/pts: %s", strerror(errno));
		return;
	}
	if (stat("/dev/ptmx", &st) < 0 || st.st_dev != pts.st_dev || st.st_rdev != makedev(5, 2))
		fail("/dev/ptmx: not a bind of /dev/pts/ptmx (dev %u:%u rdev %u:%u, /dev/pts is on %u:%u)",
		     major(st.st_dev), minor(st.st_dev), major(st.st_rdev), minor(st.st_rdev),
		     major(pts.st_dev), minor(pts.st_dev));
	if (stat("/dev/console", &st) < 0 || st.st_dev != pts.st_dev || st.st_rdev != console_rdev)
		fail("/dev/console: not the console pty %u:%u of /dev/pts (dev %u:%u rdev %u:%u)",
		     major(console_rdev), minor(console_rdev), major(st.st_dev), minor(st.st_dev),
		     major(st.st_rdev), minor(st.st_rdev));
	if (stat("/dev/tty1", &tty1) < 0 || tty1.st_dev != st.st_dev || tty1.st_ino != st.st_ino)
		fail("/dev/tty1: not the same pty as /dev/console");
	if (fstat(master, &st) < 0 || st.st_dev != pts.st_dev)
		fail("pty master: not of the /dev/pts instance");
	if (statvfs("/proc/sys", &vfs) < 0 || !(vfs.f_flag & ST_RDONLY))
		fail("/proc/sys: not read-only");
	if (statvfs("/proc/sys/net/ipv4", &vfs) < 0 || (vfs.f_flag & ST_RDONLY))
		fail("/proc/sys/net/ipv4: read-only");
	read_head("/proc/sys/net/ipv4/ip_default_ttl", buf, sizeof(buf));
	fd = open("/proc/sys/net/ipv4/ip_default_ttl", O_WRONLY);
	if (!buf[0] || fd < 0 || write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf))
		fail("/proc/sys/net/ipv4/ip_default_ttl: cannot write it: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	check_net_conf();
	if (statvfs("/sys", &vfs) < 0 || !(vfs.f_flag & ST_RDONLY))
		fail("/sys: not read-only");
	read_head("/proc/meminfo", buf, sizeof(buf));
	if (strcmp(buf, meminfo))
		fail("/proc/meminfo: '%.40s', was '%.40s'", buf, meminfo);
	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", R_OK) < 0)
		fail("/sys/fs/cgroup/memory: no memory hierarchy there: %s", strerror(errno));
}

/* Read exactly len bytes that must be there now (non-blocking), then put
 * them back where the other end can read them again. */
static void check_queue(int rfd, int wfd, const char *want, const char *what)
{
	char got[64] = "";
	size_t len = strlen(want);
	int fl = fcntl(rfd, F_GETFL);
	ssize_t n;

	fcntl(rfd, F_SETFL, fl | O_NONBLOCK);
	n = read(rfd, got, sizeof(got) - 1);
	fcntl(rfd, F_SETFL, fl);
	if (n != (ssize_t)len || memcmp(got, want, len)) {
		fail("%s: read %zd bytes '%.*s', want '%s'", what, n, n > 0 ? (int)n : 0, got, want);
		return;
	}
	if (write(wfd, want, len) != (ssize_t)len)
		fail("%s: cannot queue the data again", what);
}

static void check(void)
{
	struct sockaddr_un sun;
	socklen_t sl = sizeof(sun);
	struct termios tio;
	struct stat st;
	unsigned long c0;
	int c, acc;

	fail_buf[0] = '\0';
	if (getpid() != my_pid)
		fail("pid %d, was %d", getpid(), my_pid);
	check_file(root_fd, "file on the root filesystem", 1, 1234);
	check_file(tmp_fd, "file on the tmpfs", 2, PATTERN_LEN);
	if (!(fcntl(tmp_fd, F_GETFL) & O_APPEND))
		fail("file on the tmpfs: O_APPEND lost");
	check_file(ghost_fd, "deleted file on the tmpfs", 3, 77);
	if (fstat(ghost_fd, &st) < 0 || st.st_nlink != 0)
		fail("deleted file on the tmpfs: has %lu links", (unsigned long)st.st_nlink);
	if (tcgetattr(slave, &tio) < 0 || (tio.c_lflag & (ICANON | ECHO)) || tio.c_cc[VMIN] != 1)
		fail("pty: termios not raw any more");
	check_queue(slave, master, "to-slave", "pty slave");
	check_queue(master, slave, "to-master", "pty master");
	check_queue(sk[1], sk[0], "sk-data", "socketpair");
	check_queue(pfd[0], pfd[1], "pipe-data", "pipe");
	if (getsockname(lsk, (struct sockaddr *)&sun, &sl) < 0 || strcmp(sun.sun_path, sock_path))
		fail("listening socket: not bound at %s", sock_path);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	if (c < 0 || connect(c, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fail("listening socket: cannot connect to %s: %s", sock_path, strerror(errno));
	else if ((acc = accept(lsk, NULL, NULL)) < 0)
		fail("listening socket: cannot accept: %s", strerror(errno));
	else
		close(acc);
	if (c >= 0)
		close(c);
	if (getcwd(sun.sun_path, sizeof(sun.sun_path)) == NULL || strcmp(sun.sun_path, statedir))
		fail("cwd is not %s", statedir);
	if (libvirt)
		check_libvirt();
	c0 = counter;
	if (c0 <= last_checked)
		fail("the counter stopped at %lu", c0);
	last_checked = c0;
	{
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/result", statedir);
		f = fopen(path, "a");
		if (!f)
			return;
		if (fail_buf[0])
			fprintf(f, "FAIL: %s\n", fail_buf);
		else
			fprintf(f, "PASS counter=%lu\n", c0);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { 0 };
	char buf[64];

	if (argc < 3) {
		fprintf(stderr, "usage: ct-state STATEDIR TMPDIR [MARK]\n");
		return 2;
	}
	statedir = argv[1];
	tmpdir = argv[2];
	libvirt = argc > 4 && !strcmp(argv[4], "libvirt");
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	setup();
	if (libvirt)
		libvirt_setup();
	snprintf(buf, sizeof(buf), "%d\n", my_pid);
	write_file("ct-state.pid", buf);
	write_file("ct-state.ready", "ready\n");
	while (!stop_req) {
		counter++;
		if (check_req) {
			check_req = 0;
			check();
		}
		usleep(5000);
	}
	return 0;
}
