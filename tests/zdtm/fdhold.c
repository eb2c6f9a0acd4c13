// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * zdtm-fdhold: holds the other end of a test's descriptor outside the
 * checkpointed tree, as a container's controller holds its console master,
 * and hands in a new one at each restore. run.sh calls it around a test whose
 * .desc says "wrap: zdtm-fdhold KIND":
 *
 *   zdtm-fdhold KIND start WD -- CMD...    start the holder, then run CMD (the
 *                                          test launcher) with ZDTM_PTY or ZDTM_PIPE
 *   zdtm-fdhold KIND dump WD -- CMD...     run CMD (lxc-cr dump) with what the
 *                                          holder needs declared (--external tty[..])
 *   zdtm-fdhold KIND restore WD -- CMD...  ask the holder for a new pair, put
 *                                          its tree end at fd 7 and run CMD (lxc-cr
 *                                          restore) with --inherit-fd fd[7]:KEY
 *   zdtm-fdhold KIND stop WD               end the holder
 *
 * KIND pty: a Unix98 pty pair; the test opens the slave (ZDTM_PTY) as its
 * controlling terminal. The holder keeps the master and answers every line
 * "PING x" the test writes with "PONG x". At restore it opens a new pair;
 * the images name the old slave by its key tty[RDEV:DEV].
 * KIND pipe: a pipe; the test gets its read end from the holder (the
 * message "get" on the socket ZDTM_PIPE names, answered with the descriptor:
 * a /proc path would not reach it from a test's own mount namespace) and the
 * holder keeps the write end. Each new pipe carries one line
 * "zdtm-fdhold INO" naming its own inode; the images name the old pipe by
 * pipe:[INO].
 * KIND file: a regular file WD/fdhold.file.N holding the line "zdtm-fdhold
 * INO" (its inode); the test opens it (ZDTM_FILE) for appending. At restore a
 * new file is handed in, opened O_WRONLY|O_APPEND, under the old one's path
 * spelled as CRIU does, without its leading '/'.
 * KIND ptm: a Unix98 pty pair whose master the test holds (got with "get"
 * on ZDTM_PTM, as pipe) and whose slave the holder keeps, as libvirt's
 * controller holds the host console master whose slave virsh console opens.
 * "poke" on ZDTM_PTM makes the holder write "POKE\n" to its slave. At dump
 * the master is declared by its slave's key tty[RDEV:DEV]; at restore the
 * holder opens a new pair (keeping the old slaves: their indexes stay taken)
 * and hands the new master in.
 * KIND unix: the test connects a stream socket to the holder (ZDTM_UNIX names
 * its listening socket) and sends "INO n", its socket's inode; the holder
 * answers "HELLO\nQUEUED\n". Dump declares the test's socket with
 * --external unix[INO], then the holder closes the connection (the peer is
 * gone for good, as libvirtd's end of its controller connection is).
 * Restore hands nothing in: the socket comes back disconnected.
 * For ptm and unix, dump first runs CMD without the declaration and checks
 * that it is refused naming the key (its output in WD/fdhold.refused.out).
 * KIND stale: no holder. After each dump the test's socket file
 * WD/stale.sock must be left stale (connect() refused); before each restore,
 * a restore over a regular file there, then over a socket someone listens
 * on, must be refused naming the path; the real restore then finds a stale
 * socket file there.
 * The holder logs to WD/fdhold.log; the current key is in WD/fdhold.key.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define INHERIT_FD 7

static const char *wd;
static int is_pty, is_file, is_ptm, is_unix, is_stale;
static unsigned file_gen;
static FILE *logfp;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zdtm-fdhold: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(errno));
	exit(1);
}

static void logmsg(const char *fmt, ...)
{
	va_list ap;

	if (!logfp)
		return;
	va_start(ap, fmt);
	vfprintf(logfp, fmt, ap);
	va_end(ap);
	fputc('\n', logfp);
	fflush(logfp);
}

static void wd_path(char *buf, size_t len, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", wd, name) >= len) {
		errno = ENAMETOOLONG;
		die("%s/%s", wd, name);
	}
}

static void write_key(const char *key)
{
	char p[4096], tmp[4200];
	FILE *f;

	wd_path(p, sizeof(p), "fdhold.key");
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%s\n", key) < 0 || fclose(f) || rename(tmp, p))
		die("cannot write %s", p);
}

static void read_key(char *key, size_t len)
{
	char p[4096];
	FILE *f;

	wd_path(p, sizeof(p), "fdhold.key");
	f = fopen(p, "r");
	if (!f || !fgets(key, len, f))
		die("cannot read %s", p);
	fclose(f);
	key[strcspn(key, "\n")] = '\0';
}

/* A new pty pair: the master, and the slave's path and key. */
static int new_pty(char *path, size_t plen, char *key, size_t klen)
{
	struct stat st;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, path, plen))
		die("cannot open a pty pair");
	if (stat(path, &st))
		die("stat %s", path);
	snprintf(key, klen, "tty[%llx:%llx]", (unsigned long long)st.st_rdev,
		 (unsigned long long)st.st_dev);
	return m;
}

/* A new pipe carrying one line with its inode. */
static void new_pipe(int p[2], char *key, size_t klen)
{
	struct stat st;
	char line[64];
	int n;

	if (pipe2(p, O_CLOEXEC) || fstat(p[0], &st))
		die("pipe");
	n = snprintf(line, sizeof(line), "zdtm-fdhold %llu\n", (unsigned long long)st.st_ino);
	if (write(p[1], line, n) != n)
		die("write into the pipe");
	snprintf(key, klen, "pipe:[%llu]", (unsigned long long)st.st_ino);
}

/* A new file WD/fdhold.file.N with one line naming its inode; opened for appending. */
static int new_file(char *path, size_t plen)
{
	struct stat st;
	char line[64];
	int fd, n;

	snprintf(line, sizeof(line), "fdhold.file.%u", file_gen++);
	wd_path(path, plen, line);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &st))
		die("create %s", path);
	n = snprintf(line, sizeof(line), "zdtm-fdhold %llu\n", (unsigned long long)st.st_ino);
	if (write(fd, line, n) != n)
		die("write %s", path);
	return fd;
}

static int ctl_socket(bool listen_it)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char p[4096];
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	wd_path(p, sizeof(p), "fdhold.sock");
	if (s < 0 || strlen(p) >= sizeof(sa.sun_path))
		die("socket %s", p);
	strcpy(sa.sun_path, p);
	if (listen_it) {
		unlink(p);
		if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 4))
			die("bind %s", p);
	} else if (connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		die("connect %s", p);
	}
	return s;
}

static void send_fd(int s, const char *msg, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) + 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(s, &mh, 0) < 0)
		die("sendmsg");
}

static int recv_fd(int s, char *msg, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = msg, .iov_len = len - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
	int fd = -1;

	if (n <= 0)
		die("recvmsg from the holder");
	msg[n] = '\0';
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* The master's side of the conversation: "PING x" gets "PONG x". */
static void serve_master(int m, char *buf, size_t *len, size_t size, bool *dead)
{
	ssize_t n = read(m, buf + *len, size - 1 - *len);
	char *nl;

	if (n <= 0) {
		if (n == 0 || errno == EIO) {
			logmsg("master: no slave open any more");
			*dead = true;
		}
		return;
	}
	*len += n;
	buf[*len] = '\0';
	while ((nl = strchr(buf, '\n'))) {
		char reply[600];

		*nl = '\0';
		if (nl > buf && nl[-1] == '\r')
			nl[-1] = '\0';
		logmsg("master read: '%s'", buf);
		if (!strncmp(buf, "PING ", 5) && strlen(buf) < 500) {
			int r = snprintf(reply, sizeof(reply), "PONG %s\n", buf + 5);

			if (write(m, reply, r) != r)
				logmsg("master: cannot write the reply: %s", strerror(errno));
			else
				logmsg("master wrote: 'PONG %s'", buf + 5);
		}
		*len -= nl + 1 - buf;
		memmove(buf, nl + 1, *len + 1);
	}
	if (*len >= size - 1)
		*len = 0;
}

/* KIND unix: the test's connection; it says its inode, which becomes the key. */
static int unix_accept(int us, char *key)
{
	char line[64];
	unsigned long long ino;
	ssize_t n;
	int c = accept4(us, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return -1;
	n = read(c, line, sizeof(line) - 1);
	line[n > 0 ? n : 0] = '\0';
	if (sscanf(line, "INO %llu", &ino) != 1) {
		logmsg("unix: bad greeting '%s'", line);
		close(c);
		return -1;
	}
	snprintf(key, 4096, "unix[%llu]", ino);
	write_key(key);
	if (write(c, "HELLO\nQUEUED\n", 13) != 13)
		logmsg("unix: cannot write to the test: %s", strerror(errno));
	logmsg("unix: connected to the test's socket %llu", ino);
	return c;
}

static void daemon_loop(int ls, int m, int pr, int pw, char *key)
{
	char buf[1024];
	size_t blen = 0;
	bool dead = false;
	int conn = -1, slave = -1;

	if (is_ptm) {
		slave = pw;	/* the slave we keep; m goes to the test */
		pw = -1;
	}
	for (;;) {
		struct pollfd pfd[2] = { { .fd = ls, .events = POLLIN },
					 { .fd = (is_pty && !dead) || (is_unix && conn < 0) ? m : -1,
					   .events = POLLIN } };
		char cmd[64], nkey[4096];
		int c;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (is_unix && (pfd[1].revents & POLLIN))
			conn = unix_accept(m, key);
		else if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
			serve_master(m, buf, &blen, sizeof(buf), &dead);
		if (!(pfd[0].revents & POLLIN))
			continue;
		c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		ssize_t n = recv(c, cmd, sizeof(cmd) - 1, 0);
		cmd[n > 0 ? n : 0] = '\0';
		logmsg("command '%s'", cmd);
		if (!strcmp(cmd, "stop")) {
			send_fd(c, "bye", -1);
			exit(0);
		}
		if (!strcmp(cmd, "get") && !is_pty && pr >= 0) {
			send_fd(c, key, pr);
			close(pr);
			pr = -1;
			close(c);
			continue;
		}
		if (!strcmp(cmd, "drop") && is_unix) {
			if (conn >= 0)
				close(conn);
			conn = -1;
			logmsg("unix: connection to the test closed");
			write_key("none");
			send_fd(c, "dropped", -1);
			close(c);
			continue;
		}
		if (!strcmp(cmd, "poke") && is_ptm) {
			int w = write(slave, "POKE\n", 5);

			logmsg("ptm: poked the slave (%d)", w);
			send_fd(c, w == 5 ? "poked" : "not poked", -1);
			close(c);
			continue;
		}
		if (!strcmp(cmd, "new") && is_ptm) {
			char path[128];
			int nm = new_pty(path, sizeof(path), nkey, sizeof(nkey));
			int ns = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);

			if (ns < 0)
				die("open %s", path);
			send_fd(c, key, nm);
			close(nm);
			/* the old slave stays open: its index stays taken */
			slave = ns;
			logmsg("ptm: new pair %s (%s) in place of %s", path, nkey, key);
			strcpy(key, nkey);
			write_key(key);
			close(c);
			continue;
		}
		if (strcmp(cmd, "new")) {
			send_fd(c, "?", -1);
			close(c);
			continue;
		}
		if (is_file) {
			char path[4096];
			int fd = new_file(path, sizeof(path));

			/* the images' key is the old path; CRIU's spelling has no leading '/' */
			send_fd(c, key + (key[0] == '/'), fd);
			close(fd);
			logmsg("new file %s in place of %s", path, key);
			snprintf(nkey, sizeof(nkey), "%s", path);
		} else if (is_pty) {
			char path[128];
			int nm = new_pty(path, sizeof(path), nkey, sizeof(nkey)), s;

			s = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
			if (s < 0)
				die("open %s", path);
			send_fd(c, key, s);
			close(s);
			close(m);
			m = nm;
			dead = false;
			blen = 0;
			logmsg("new pair %s (%s) in place of %s", path, nkey, key);
		} else {
			int p[2];

			new_pipe(p, nkey, sizeof(nkey));
			send_fd(c, key, p[0]);
			close(p[0]);
			close(pw);
			pw = p[1];
			logmsg("new pipe %s in place of %s", nkey, key);
		}
		strcpy(key, nkey);
		write_key(key);
		close(c);
	}
}

static void cmd_start(char **cmd)
{
	char path[128], key[4096], env[256], logp[4096];
	int ls, m = -1, p[2] = { -1, -1 };
	pid_t pid;

	ls = ctl_socket(true);
	if (is_file) {
		close(new_file(key, sizeof(key)));
	} else if (is_pty) {
		m = new_pty(path, sizeof(path), key, sizeof(key));
	} else if (is_ptm) {
		/* p[0]: the master for the test, p[1]: the slave we keep */
		p[0] = new_pty(path, sizeof(path), key, sizeof(key));
		p[1] = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (p[1] < 0)
			die("open %s", path);
	} else if (is_unix) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		wd_path(sa.sun_path, sizeof(sa.sun_path), "fdhold.usk");
		unlink(sa.sun_path);
		m = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (m < 0 || bind(m, (struct sockaddr *)&sa, sizeof(sa)) || listen(m, 4))
			die("listen on %s", sa.sun_path);
		strcpy(key, "none");
	} else {
		new_pipe(p, key, sizeof(key));
	}
	write_key(key);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		setsid();
		wd_path(logp, sizeof(logp), "fdhold.log");
		logfp = fopen(logp, "a");
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		logmsg("holding %s", key);
		daemon_loop(ls, m, p[0], p[1], key);
		exit(0);
	}
	close(ls);
	if (is_file) {
		setenv("ZDTM_FILE", key, 1);
	} else if (is_pty) {
		close(m);
		snprintf(env, sizeof(env), "%s", path);
		setenv("ZDTM_PTY", env, 1);
	} else if (is_unix) {
		close(m);
		wd_path(logp, sizeof(logp), "fdhold.usk");
		setenv("ZDTM_UNIX", logp, 1);
	} else if (is_ptm) {
		wd_path(logp, sizeof(logp), "fdhold.sock");
		setenv("ZDTM_PTM", logp, 1);
		close(p[0]);
		close(p[1]);
	} else {
		wd_path(logp, sizeof(logp), "fdhold.sock");
		setenv("ZDTM_PIPE", logp, 1);
		close(p[0]);
		close(p[1]);
	}
	execvp(cmd[0], cmd);
	die("exec %s", cmd[0]);
}

static void run_with(char **cmd, const char *a1, const char *a2)
{
	int n = 0;
	char **argv;

	while (cmd[n])
		n++;
	argv = calloc(n + 3, sizeof(*argv));
	if (!argv)
		die("calloc");
	memcpy(argv, cmd, n * sizeof(*argv));
	argv[n] = (char *)a1;
	argv[n + 1] = (char *)a2;
	execvp(argv[0], argv);
	die("exec %s", argv[0]);
}

/* Run cmd (plus a1 a2) to the end, its output into out; its exit status. */
static int run_wait(char **cmd, const char *a1, const char *a2, const char *out)
{
	int n = 0, st;
	pid_t pid;
	char **argv;

	while (cmd[n])
		n++;
	argv = calloc(n + 3, sizeof(*argv));
	if (!argv)
		die("calloc");
	memcpy(argv, cmd, n * sizeof(*argv));
	argv[n] = (char *)a1;
	argv[n + 1] = a1 ? (char *)a2 : NULL;
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (out) {
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
				_exit(127);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	free(argv);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool file_has(const char *path, const char *needle)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, needle) != NULL;
}

/*
 * CMD must fail, and say why naming what: a refusal, not an accident. Its
 * output goes to WD/fdhold.refused.out and its log (a later -o wins) to
 * WD/fdhold.refused.log: an error in a restored task reaches only the log.
 */
static void expect_refused(char **cmd, const char *what, const char *why)
{
	char out[4096], log[4096];
	int rc;

	wd_path(out, sizeof(out), "fdhold.refused.out");
	wd_path(log, sizeof(log), "fdhold.refused.log");
	unlink(log);
	rc = run_wait(cmd, "-o", log, out);
	if (rc == 0 || (!file_has(out, what) && !file_has(log, what))) {
		fprintf(stderr, "zdtm-fdhold: %s %s (exit %d), its output (%s) and log (%s) naming '%s' or not:\n",
			why, rc ? "failed, but not naming it" : "was not refused", rc, out, log, what);
		run_wait((char *[]){ "cat", out, NULL }, NULL, NULL, NULL);
		run_wait((char *[]){ "tail", "-n", "5", log, NULL }, NULL, NULL, NULL);
		exit(1);
	}
	fprintf(stderr, "zdtm-fdhold: %s: refused as it must be (exit %d)\n", why, rc);
}

static void ask(const char *cmd)
{
	char reply[64];
	int s = ctl_socket(false);

	send_fd(s, cmd, -1);
	recv_fd(s, reply, sizeof(reply));
	close(s);
}

/* KIND stale: the file at WD/stale.sock is a socket nobody listens on. */
static void check_stale(const char *when)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int s;

	wd_path(sa.sun_path, sizeof(sa.sun_path), "stale.sock");
	if (lstat(sa.sun_path, &st) || !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "zdtm-fdhold: %s: %s is not a socket file (%s)\n", when, sa.sun_path,
			strerror(errno));
		exit(1);
	}
	/* the killed tree may take a moment to be gone */
	for (int i = 0;; i++) {
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			die("socket");
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) && errno == ECONNREFUSED)
			break;
		if (i == 100) {
			fprintf(stderr, "zdtm-fdhold: %s: %s is not stale after 5 s: connect() gives %s\n",
				when, sa.sun_path, strerror(errno));
			exit(1);
		}
		close(s);
		usleep(50000);
	}
	close(s);
	fprintf(stderr, "zdtm-fdhold: %s: %s is a stale socket file (ECONNREFUSED)\n", when,
		sa.sun_path);
}

static void stale_restore(char **cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char rpid[4096];
	int fd;

	wd_path(sa.sun_path, sizeof(sa.sun_path), "stale.sock");
	wd_path(rpid, sizeof(rpid), "rpid");
	check_stale("before restore");
	/* a regular file in its place */
	if (unlink(sa.sun_path) || (fd = open(sa.sun_path, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0)
		die("a regular file at %s", sa.sun_path);
	close(fd);
	expect_refused(cmd, sa.sun_path, "restore over a regular file");
	if (!access(rpid, F_OK)) {
		fprintf(stderr, "zdtm-fdhold: the refused restore wrote %s\n", rpid);
		exit(1);
	}
	/* somebody listening there */
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1))
		die("listen on %s", sa.sun_path);
	expect_refused(cmd, sa.sun_path, "restore over a socket in use");
	close(fd);	/* its file stays: stale */
	check_stale("for the restore");
	execvp(cmd[0], cmd);
	die("exec %s", cmd[0]);
}

int main(int argc, char **argv)
{
	char key[4096], arg[4200];
	const char *what;
	char **cmd = NULL;
	int fd, s;

	if (argc < 4 || (strcmp(argv[1], "pty") && strcmp(argv[1], "pipe") && strcmp(argv[1], "file") &&
			 strcmp(argv[1], "ptm") && strcmp(argv[1], "unix") && strcmp(argv[1], "stale"))) {
		fprintf(stderr, "usage: zdtm-fdhold pty|pipe|file|ptm|unix|stale start|dump|restore|stop WD [-- CMD...]\n");
		return 2;
	}
	is_pty = !strcmp(argv[1], "pty");
	is_file = !strcmp(argv[1], "file");
	is_ptm = !strcmp(argv[1], "ptm");
	is_unix = !strcmp(argv[1], "unix");
	is_stale = !strcmp(argv[1], "stale");
	what = argv[2];
	wd = argv[3];
	if (argc > 5 && !strcmp(argv[4], "--"))
		cmd = argv + 5;
	signal(SIGPIPE, SIG_IGN);
	if (is_stale && !strcmp(what, "stop"))
		return 0;
	if (!strcmp(what, "stop")) {
		s = ctl_socket(false);
		send_fd(s, "stop", -1);
		recv_fd(s, key, sizeof(key));
		return 0;
	}
	if (!cmd) {
		fprintf(stderr, "zdtm-fdhold %s: no command after --\n", what);
		return 2;
	}
	if (is_stale) {
		if (!strcmp(what, "start"))
			run_with(cmd, NULL, NULL);
		if (!strcmp(what, "dump")) {
			int rc = run_wait(cmd, NULL, NULL, NULL);

			if (rc == 0)
				check_stale("after dump");
			return rc;
		}
		if (!strcmp(what, "restore"))
			stale_restore(cmd);
	}
	if (!strcmp(what, "start"))
		cmd_start(cmd);
	if (!strcmp(what, "dump") && (is_ptm || is_unix)) {
		int rc;

		read_key(key, sizeof(key));
		if (!strcmp(key, "none"))
			run_with(cmd, NULL, NULL);
		expect_refused(cmd, key, "dump without --external");
		rc = run_wait(cmd, "--external", key, NULL);
		if (rc == 0 && is_unix)
			ask("drop");
		return rc;
	}
	if (!strcmp(what, "dump")) {
		if (!is_pty)
			run_with(cmd, NULL, NULL);
		read_key(key, sizeof(key));
		run_with(cmd, "--external", key);
	}
	if (!strcmp(what, "restore") && is_unix)
		run_with(cmd, NULL, NULL);
	if (!strcmp(what, "restore")) {
		s = ctl_socket(false);
		send_fd(s, "new", -1);
		fd = recv_fd(s, key, sizeof(key));
		if (fd < 0) {
			fprintf(stderr, "zdtm-fdhold: the holder sent no descriptor\n");
			return 1;
		}
		close(s);
		if (dup2(fd, INHERIT_FD) < 0)
			die("dup2");
		close(fd);
		snprintf(arg, sizeof(arg), "fd[%d]:%s", INHERIT_FD, key);
		run_with(cmd, "--inherit-fd", arg);
	}
	fprintf(stderr, "zdtm-fdhold: unknown command %s\n", what);
	return 2;
}
