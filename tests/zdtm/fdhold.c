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
#include <unistd.h>

#define INHERIT_FD 7

static const char *wd;
static int is_pty, is_file;
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

static void daemon_loop(int ls, int m, int pr, int pw, char *key)
{
	char buf[1024];
	size_t blen = 0;
	bool dead = false;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = ls, .events = POLLIN },
					 { .fd = (is_pty && !dead) ? m : -1, .events = POLLIN } };
		char cmd[64], nkey[4096];
		int c;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
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
	if (is_file)
		close(new_file(key, sizeof(key)));
	else if (is_pty)
		m = new_pty(path, sizeof(path), key, sizeof(key));
	else
		new_pipe(p, key, sizeof(key));
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

int main(int argc, char **argv)
{
	char key[4096], arg[4200];
	const char *what;
	char **cmd = NULL;
	int fd, s;

	if (argc < 4 || (strcmp(argv[1], "pty") && strcmp(argv[1], "pipe") && strcmp(argv[1], "file"))) {
		fprintf(stderr, "usage: zdtm-fdhold pty|pipe|file start|dump|restore|stop WD [-- CMD...]\n");
		return 2;
	}
	is_pty = !strcmp(argv[1], "pty");
	is_file = !strcmp(argv[1], "file");
	what = argv[2];
	wd = argv[3];
	if (argc > 5 && !strcmp(argv[4], "--"))
		cmd = argv + 5;
	signal(SIGPIPE, SIG_IGN);
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
	if (!strcmp(what, "start"))
		cmd_start(cmd);
	if (!strcmp(what, "dump")) {
		if (!is_pty)
			run_with(cmd, NULL, NULL);
		read_key(key, sizeof(key));
		run_with(cmd, "--external", key);
	}
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
