/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* zdtmtst: daemonizing, signalling and reporting for the real-program tests. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

static char pidfile[PATH_MAX];
static char outfile[PATH_MAX];
static int sync_fd = -1;
static volatile int sigterm_flag;

static void sigterm_handler(int sig)
{
	int saved = errno;
	pid_t pid = getpid();

	sigterm_flag = 1;
	/* test_waitsig runs in the main thread: make sure it wakes up. */
	if ((pid_t)syscall(SYS_gettid) != pid)
		syscall(SYS_tgkill, pid, pid, sig);
	errno = saved;
}

static void outv(const char *prefix, const char *fmt, va_list ap)
{
	char buf[4096];
	int n, m;

	n = snprintf(buf, sizeof(buf), "%s", prefix);
	m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line, so lines of several processes do not mix. */
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

void test_msg(const char *fmt, ...)
{
	char prefix[32];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "[%d] ", (int)syscall(SYS_gettid));
	va_start(ap, fmt);
	outv(prefix, fmt, ap);
	va_end(ap);
}

void pass(void)
{
	static const char line[] = "PASS\n";

	if (write(STDERR_FILENO, line, sizeof(line) - 1) < 0)
		exit(1);
	exit(0);
}

void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	outv("FAIL: ", fmt, ap);
	va_end(ap);
	exit(1);
}

void skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	outv("SKIP: ", fmt, ap);
	va_end(ap);
	/* Release a parent still waiting for test_daemon(). */
	if (sync_fd >= 0) {
		if (write(sync_fd, "S", 1) < 0)
			exit(0);
	}
	exit(0);
}

static void abspath(char *dst, const char *src)
{
	char cwd[PATH_MAX];

	if (src[0] == '/' || !getcwd(cwd, sizeof(cwd))) {
		snprintf(dst, PATH_MAX, "%s", src);
		return;
	}
	if (snprintf(dst, PATH_MAX, "%s/%s", cwd, src) >= PATH_MAX) {
		fprintf(stderr, "path too long: %s\n", src);
		exit(1);
	}
}

static void parse_args(int argc, char **argv)
{
	const char *p = getenv("ZDTM_PIDFILE"), *o = getenv("ZDTM_OUTFILE");
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pidfile") && i + 1 < argc)
			p = argv[++i];
		else if (!strncmp(argv[i], "--pidfile=", 10))
			p = argv[i] + 10;
		else if (!strcmp(argv[i], "--outfile") && i + 1 < argc)
			o = argv[++i];
		else if (!strncmp(argv[i], "--outfile=", 10))
			o = argv[i] + 10;
	}
	if (p && *p)
		abspath(pidfile, p);
	if (o && *o)
		abspath(outfile, o);
}

static void close_sync_fd(void)
{
	if (sync_fd >= 0) {
		close(sync_fd);
		sync_fd = -1;
	}
}

static void close_fds_above(int lo, int keep)
{
	long r;

	if (keep >= lo) {
		if (keep > lo)
			syscall(SYS_close_range, lo, keep - 1, 0);
		r = syscall(SYS_close_range, keep + 1, ~0U, 0);
	} else {
		r = syscall(SYS_close_range, lo, ~0U, 0);
	}
	if (r < 0) {
		int fd;

		for (fd = lo; fd < 65536; fd++)
			if (fd != keep)
				close(fd);
	}
}

/*
 * ZDTM_NEWNS=1: the tested tree's root becomes the init (pid 1) of new PID,
 * UTS and IPC namespaces; ZDTM_NEWNS=3 adds a network namespace, where the
 * harness creates nothing (the test makes its links). A raw clone, so that no atfork handler closes the
 * launcher's pipe: the new init still has to release it.
 * ZDTM_NEWNS=2: a new mount namespace too, every mount private, a /proc of
 * its own, and a small tmpfs with a few files on ./zdtm.tmpfs (the test's
 * directory on the host stays reachable: the root is the host's).
 */
static int in_new_ns;
static int host_pid_cached;

/* Our pid as the harness sees it: the host's /proc names host pids. */
static int host_pid(void)
{
	char buf[32];
	ssize_t n;

	if (!in_new_ns)
		return getpid();
	if (host_pid_cached)
		return host_pid_cached;
	n = readlink("/proc/self", buf, sizeof(buf) - 1);
	if (n <= 0)
		return getpid();
	buf[n] = '\0';
	return atoi(buf);
}

static void new_mounts(void)
{
	int fd;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		perror("mount --make-rprivate /");
		_exit(1);
	}
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		perror("mount proc on /proc");
		_exit(1);
	}
	if ((mkdir("zdtm.tmpfs", 0755) < 0 && errno != EEXIST) ||
	    mount("zdtm-tmpfs", "zdtm.tmpfs", "tmpfs", MS_NOSUID, "size=1m,mode=750") < 0) {
		perror("mount tmpfs on zdtm.tmpfs");
		_exit(1);
	}
	fd = open("zdtm.tmpfs/hello", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, "hello\n", 6) != 6 || close(fd) < 0 ||
	    mkdir("zdtm.tmpfs/dir", 0700) < 0 || symlink("../hello", "zdtm.tmpfs/dir/link") < 0) {
		perror("files in zdtm.tmpfs");
		_exit(1);
	}
}

/* level 1: pid, uts, ipc; 2: and a mount namespace; 3: and a network namespace */
static void enter_new_ns(int level)
{
	long flags = CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | (level == 2 ? CLONE_NEWNS : 0) |
		     (level == 3 ? CLONE_NEWNET : 0);
	long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);

	if (pid < 0) {
		perror("clone(CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC)");
		_exit(1);
	}
	if (pid > 0)
		_exit(0);
	in_new_ns = 1;
	if (setsid() < 0) {
		perror("setsid in the new namespaces");
		_exit(1);
	}
	if (level == 2) {
		host_pid_cached = host_pid();
		new_mounts();
	}
	if (level == 3) {
		/* a new network namespace starts with lo down */
		struct ifreq ifr;
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		memset(&ifr, 0, sizeof(ifr));
		strcpy(ifr.ifr_name, "lo");
		if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
		    (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
			perror("bringing lo up in the new network namespace");
			_exit(1);
		}
		close(s);
	}
}

void test_init(int argc, char **argv)
{
	struct sigaction sa;
	struct rlimit rl;
	int p[2], fd, hi;
	pid_t pid;

	parse_args(argc, argv);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigterm_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0) {
		perror("sigaction(SIGTERM)");
		exit(1);
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);

	if (!pidfile[0]) {
		/* Foreground mode, for running a test by hand. */
		close_fds_above(3, -1);
		return;
	}

	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("pipe2");
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid > 0) {
		char c = 0;
		ssize_t n;
		int status;

		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1 && (c == 'R' || c == 'S'))
			_exit(0);
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			_exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
		_exit(1);
	}

	/* Child: the process whose tree gets checkpointed. */
	close(p[0]);
	hi = 1023;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur <= (rlim_t)hi)
		hi = (int)rl.rlim_cur - 1;
	if (p[1] != hi) {
		sync_fd = fcntl(p[1], F_DUPFD_CLOEXEC, hi);
		if (sync_fd < 0) {
			perror("F_DUPFD");
			_exit(1);
		}
		close(p[1]);
	} else {
		sync_fd = p[1];
	}
	pthread_atfork(NULL, NULL, close_sync_fd);

	if (setsid() < 0) {
		perror("setsid");
		_exit(1);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0) {
		perror("/dev/null");
		_exit(1);
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (outfile[0]) {
		fd = open(outfile, O_WRONLY | O_APPEND | O_CREAT, 0644);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) {
			perror(outfile);
			_exit(1);
		}
		if (fd > STDERR_FILENO)
			close(fd);
	}
	close_fds_above(3, sync_fd);
	if (getenv("ZDTM_NEWNS") && (!strcmp(getenv("ZDTM_NEWNS"), "1") || !strcmp(getenv("ZDTM_NEWNS"), "2") ||
				     !strcmp(getenv("ZDTM_NEWNS"), "3")))
		enter_new_ns(atoi(getenv("ZDTM_NEWNS")));
}

void test_daemon(void)
{
	char tmp[PATH_MAX + 8], buf[32];
	int fd, n;

	if (!pidfile[0]) {
		test_msg("ready (pid %d)", (int)getpid());
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail("cannot create %s: %s", tmp, strerror(errno));
	n = snprintf(buf, sizeof(buf), "%d\n", host_pid());
	if (write(fd, buf, n) != n)
		fail("cannot write %s: %s", tmp, strerror(errno));
	if (close(fd) < 0)
		fail("cannot close %s: %s", tmp, strerror(errno));
	if (rename(tmp, pidfile) < 0)
		fail("cannot rename %s: %s", tmp, strerror(errno));
	if (sync_fd >= 0) {
		if (write(sync_fd, "R", 1) != 1)
			fail("cannot release the launcher: %s", strerror(errno));
		close_sync_fd();
	}
}

int test_sigterm_received(void)
{
	return sigterm_flag;
}

volatile int *test_sigterm_flag(void)
{
	return &sigterm_flag;
}

void test_waitsig(void)
{
	sigset_t term, old, wait;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, &old);
	wait = old;
	sigdelset(&wait, SIGTERM);
	while (!sigterm_flag)
		sigsuspend(&wait);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void test_msleep(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

long test_read_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len + 1 < size) {
		r = read(fd, buf + len, size - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
	}
	close(fd);
	buf[len] = '\0';
	return (long)len;
}

/* xorshift32 over a mixed seed: cheap, deterministic, never stuck at 0. */
static uint32_t dg_init(uint32_t seed)
{
	uint32_t s = seed * 2654435761u ^ 0x9e3779b9u;

	return s ? s : 0x6d2b79f5u;
}

static uint32_t dg_next(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

void datagen(void *buf, size_t len, uint32_t seed)
{
	unsigned char *p = buf;
	uint32_t s = dg_init(seed), v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if ((i & 3) == 0)
			v = dg_next(&s);
		p[i] = (unsigned char)(v >> ((i & 3) * 8));
	}
}

long datadiff(const void *buf, size_t len, uint32_t seed)
{
	const unsigned char *p = buf;
	uint32_t s = dg_init(seed), v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if ((i & 3) == 0)
			v = dg_next(&s);
		if (p[i] != (unsigned char)(v >> ((i & 3) * 8)))
			return (long)i;
	}
	return -1;
}

int datachk(const void *buf, size_t len, uint32_t seed)
{
	return datadiff(buf, len, seed) < 0 ? 0 : 1;
}

int test_page_prots(void *addr, size_t npages, char *out)
{
	unsigned long lo = (unsigned long)addr, pg = (unsigned long)sysconf(_SC_PAGESIZE);
	unsigned long hi = lo + npages * pg, s, e, a;
	char line[512], perms[8];
	FILE *f;

	memset(out, '-', npages * 4);
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) != 3)
			continue;
		if (e <= lo || s >= hi)
			continue;
		for (a = s > lo ? s : lo; a < e && a < hi; a += pg)
			memcpy(out + (a - lo) / pg * 4, perms, 4);
	}
	fclose(f);
	return 0;
}

volatile int *mmap_shared_int(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap shared: %s", strerror(errno));
	return p;
}
