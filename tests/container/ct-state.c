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
 *   ct-state STATEDIR TMPDIR [MARK]   (MARK: ignored, names the run in ps)
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
#include <sys/stat.h>
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
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	setup();
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
