// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A controlling terminal: a child becomes session leader with the pty slave
 * as its controlling tty and makes its own child (in a new process group)
 * the foreground group; the test holds the master with a line typed in.
 * After C/R the session and foreground group of the tty, /dev/tty in both
 * processes, the typed line (read by the foreground group) and its echo on
 * the master are all as before.
 */
#include <sys/ioctl.h>
#include <termios.h>
#include "fdutil.h"

/* an unusual window size marks our pty */
static const struct winsize mark = { .ws_row = 17, .ws_col = 71, .ws_xpixel = 3, .ws_ypixel = 5 };

static void check_ctty(pid_t sid, const char *who)
{
	struct winsize ws;
	int fd = open("/dev/tty", O_RDWR);

	if (fd < 0)
		fail("%s: no controlling tty", who);
	if (ioctl(fd, TIOCGWINSZ, &ws) || memcmp(&ws, &mark, sizeof(ws)) || tcgetsid(fd) != sid)
		fail("%s: /dev/tty is not the pty slave", who);
	close(fd);
}

static int grandchild(int slave, pid_t leader)
{
	char buf[16];

	test_waitsig();
	if (getpgrp() != getpid() || getsid(0) != leader)
		fail("grandchild: pgrp %d sid %d", getpgrp(), getsid(0));
	check_ctty(leader, "grandchild");
	if (tcgetpgrp(slave) != getpid())
		fail("grandchild: not the foreground group (%d)", tcgetpgrp(slave));
	if (read(slave, buf, sizeof(buf)) != 5 || memcmp(buf, "ping\n", 5))
		fail("grandchild: typed line lost");
	exit(0);
}

static int child(const char *name, int report)
{
	pid_t gc;
	int slave;

	if (setsid() < 0)
		fail("setsid");
	slave = open(name, O_RDWR);
	if (slave < 0 || ioctl(slave, TIOCSCTTY, 0))
		fail("make %s the controlling tty", name);
	gc = fork();
	if (gc < 0)
		fail("fork");
	if (gc == 0) {
		setpgid(0, 0);
		grandchild(slave, getppid());
	}
	if (setpgid(gc, gc) || tcsetpgrp(slave, gc))
		fail("foreground group");
	if (write(report, &gc, sizeof(gc)) != sizeof(gc))
		fail("report");
	close(report);

	test_waitsig();
	if (getsid(0) != getpid() || tcgetsid(slave) != getpid())
		fail("child: session %d, tty session %d", getsid(0), tcgetsid(slave));
	if (tcgetpgrp(slave) != gc)
		fail("child: foreground group %d, want %d", tcgetpgrp(slave), gc);
	check_ctty(getpid(), "child");
	kill(gc, SIGTERM);
	wait_child_ok(gc, "grandchild");
	exit(0);
}

int main(int argc, char **argv)
{
	int master, rep[2];
	char name[64], buf[64];
	pid_t pid, gc, sid, pgrp;

	test_init(argc, argv);
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0)
		skip("posix_openpt: %s", strerror(errno));
	if (grantpt(master) || unlockpt(master) || ptsname_r(master, name, sizeof(name)))
		fail("grantpt/unlockpt");
	if (ioctl(master, TIOCSWINSZ, &mark))
		fail("TIOCSWINSZ");
	if (pipe(rep))
		fail("pipe");
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		close(rep[0]);
		close(master);
		child(name, rep[1]);
	}
	close(rep[1]);
	if (read_full(rep[0], &gc, sizeof(gc)) != sizeof(gc))
		fail("child did not set up the terminal");
	close(rep[0]);
	if (write(master, "ping\n", 5) != 5)
		fail("type a line");
	usleep(10000);

	test_daemon();
	test_waitsig();

	if (ioctl(master, TIOCGSID, &sid) || sid != pid)
		fail("tty session %d, want %d", sid, pid);
	if (ioctl(master, TIOCGPGRP, &pgrp) || pgrp != gc)
		fail("tty foreground group %d, want %d", pgrp, gc);
	kill(pid, SIGTERM);
	wait_child_ok(pid, "session leader");
	/* the echo of the typed line, ONLCR turns \n into \r\n */
	fcntl(master, F_SETFL, O_NONBLOCK);
	{
		ssize_t r = read(master, buf, sizeof(buf));

		if (r != 6 || memcmp(buf, "ping\r\n", 6))
			fail("echo on the master: %zd bytes", r);
	}
	pass();
}
