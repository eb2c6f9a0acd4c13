// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A console whose master is held outside the tree (run under zdtm-fdhold pty,
 * as a container's init under its controller): the test, a session leader,
 * opens the pty slave ZDTM_PTY as its controlling terminal, has it at fd 0
 * and (close-on-exec) at fd 5, forks a child into a group of its own and
 * makes that group the terminal's foreground. Dump declares the terminal
 * with --external tty[RDEV:DEV]; each restore gets a new pair from the holder
 * (--inherit-fd). After C/R: fds 0 and 5 of the test and fd 0 of the child
 * are one terminal, the one /dev/tty opens, fd 5 alone close-on-exec; the
 * test still leads the terminal's session, the child's group is still the
 * foreground; and the terminal works both ways: "PING pid" written to it is
 * answered with "PONG pid" by the holder through the master.
 */
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include "fdutil.h"

/* Write "PING tag", wait up to 10 s for the line "PONG tag". */
static void ping(int fd, const char *tag)
{
	char buf[512], want[64];
	size_t len = 0;
	int n;

	n = snprintf(want, sizeof(want), "PING %s\n", tag);
	if (write(fd, want, n) != n)
		fail("cannot write to the terminal: %s", strerror(errno));
	snprintf(want, sizeof(want), "PONG %s", tag);
	for (int waited = 0; waited < 10000;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;
		char *nl;

		if (poll(&pfd, 1, 100) <= 0) {
			waited += 100;
			continue;
		}
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			fail("reading the terminal: %s", r ? strerror(errno) : "end of file");
		len += r;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (!strcmp(buf, want))
				return;
			len -= nl + 1 - buf;
			memmove(buf, nl + 1, len + 1);
		}
		if (len >= sizeof(buf) - 1)
			len = 0;
	}
	fail("no '%s' from the holder through the terminal within 10 s", want);
}

static dev_t rdev_of(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		fail("stat %s: %s", path, strerror(errno));
	return st.st_rdev;
}

int main(int argc, char **argv)
{
	const char *path = getenv("ZDTM_PTY");
	char tag[32];
	sigset_t ttou;
	pid_t child, me;
	int fd, c[2], r[2];

	test_init(argc, argv);
	if (!path)
		skip("ZDTM_PTY is not set: run under zdtm-fdhold pty (run.sh does, from pty_ext00.desc)");
	me = getpid();
	fd = open(path, O_RDWR);	/* a session leader without a terminal: it becomes ours */
	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	if (tcgetsid(fd) != me)
		fail("%s did not become our controlling terminal (session %d)", path, (int)tcgetsid(fd));
	if (dup2(fd, 0) < 0 || fcntl(fd, F_DUPFD_CLOEXEC, 5) != 5)
		fail("dup: %s", strerror(errno));
	close(fd);
	snprintf(tag, sizeof(tag), "%d-before", (int)me);
	ping(0, tag);

	/* c: we ask the child (our rdev), r: it answers */
	if (pipe(c) || pipe(r))
		fail("pipe: %s", strerror(errno));
	child = fork();
	if (child < 0)
		fail("fork: %s", strerror(errno));
	if (child == 0) {
		struct stat st;
		dev_t want;
		char ok;

		close(5);
		close(c[1]);
		close(r[0]);
		setpgid(0, 0);
		/* until the test asks: is our fd 0 its terminal? */
		while (read(c[0], &want, sizeof(want)) < 0 && errno == EINTR)
			;
		ok = (!fstat(0, &st) && st.st_rdev == want && isatty(0)) ? 'Y' : 'N';
		if (write(r[1], &ok, 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(c[0]);
	close(r[1]);
	setpgid(child, child);
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, NULL);
	if (tcsetpgrp(0, child))
		fail("tcsetpgrp(%d): %s", (int)child, strerror(errno));
	sigprocmask(SIG_UNBLOCK, &ttou, NULL);

	test_daemon();
	test_waitsig();

	if (tcgetsid(0) != me)
		fail("fd 0: not our controlling terminal any more (TIOCGSID: %s)", strerror(errno));
	if (tcgetpgrp(0) != child)
		fail("foreground group %d, was %d", (int)tcgetpgrp(0), (int)child);
	fd = open("/dev/tty", O_RDWR);
	if (fd < 0)
		fail("open /dev/tty: %s (no controlling terminal)", strerror(errno));
	close(fd);
	if (rdev_of("/proc/self/fd/0") != rdev_of("/proc/self/fd/5") ||
	    rdev_of("/proc/self/fd/0") != rdev_of(ttyname(0) ?: "/dev/null"))
		fail("fds 0 and 5 are not one terminal, or not the one ttyname() names");
	{
		dev_t mine = rdev_of("/proc/self/fd/0");
		char ok = 0;

		if (write(c[1], &mine, sizeof(mine)) != sizeof(mine) || read(r[0], &ok, 1) != 1 ||
		    ok != 'Y')
			fail("the child's fd 0 is not our terminal");
	}
	if (!(fcntl(5, F_GETFD) & FD_CLOEXEC) || (fcntl(0, F_GETFD) & FD_CLOEXEC))
		fail("fd flags: fd 0 %#x, fd 5 %#x", fcntl(0, F_GETFD), fcntl(5, F_GETFD));
	if ((fcntl(0, F_GETFL) & O_ACCMODE) != O_RDWR)
		fail("fd 0 is not open for reading and writing");

	/* the foreground back to us, so that we may read it */
	sigprocmask(SIG_BLOCK, &ttou, NULL);
	if (tcsetpgrp(0, getpgrp()))
		fail("tcsetpgrp(ours): %s", strerror(errno));
	snprintf(tag, sizeof(tag), "%d-after", (int)me);
	ping(0, tag);
	close(c[1]);
	waitpid(child, NULL, 0);
	pass();
}
