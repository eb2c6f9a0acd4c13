// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A Unix98 pty pair held by the test: slave in raw mode with custom c_cc
 * (VMIN 3, VTIME 7, VINTR ^A), a window size, 1000 bytes queued master->
 * slave and 700 bytes slave->master. After C/R the pty has the same index,
 * termios, window size and queued bytes, and still passes data both ways.
 */
#include <sys/ioctl.h>
#include <termios.h>
#include "fdutil.h"

static void check_termios(const struct termios *a, const struct termios *b)
{
	if (a->c_iflag != b->c_iflag || a->c_oflag != b->c_oflag || a->c_cflag != b->c_cflag ||
	    a->c_lflag != b->c_lflag)
		fail("termios flags i%#x o%#x c%#x l%#x, were i%#x o%#x c%#x l%#x", a->c_iflag,
		     a->c_oflag, a->c_cflag, a->c_lflag, b->c_iflag, b->c_oflag, b->c_cflag, b->c_lflag);
	for (int i = 0; i < NCCS; i++)
		if (a->c_cc[i] != b->c_cc[i])
			fail("c_cc[%d] %#x, was %#x", i, a->c_cc[i], b->c_cc[i]);
	if (cfgetispeed(a) != cfgetispeed(b) || cfgetospeed(a) != cfgetospeed(b))
		fail("speed changed");
}

static void read_nb(int fd, size_t len, uint32_t seed, const char *what)
{
	char buf[4096];
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);

		if (r <= 0)
			fail("%s: got %zu of %zu bytes", what, got, len);
		got += r;
	}
	if (datachk(buf, len, seed))
		fail("%s: contents", what);
	check_drained(fd, what);
}

int main(int argc, char **argv)
{
	struct termios t, saved, now;
	struct winsize ws = { .ws_row = 33, .ws_col = 111, .ws_xpixel = 888, .ws_ypixel = 555 }, ws2;
	int master, slave, idx, idx2;
	char name[64];
	struct stat st, pst;

	test_init(argc, argv);
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0)
		skip("posix_openpt: %s", strerror(errno));
	if (grantpt(master) || unlockpt(master) || ptsname_r(master, name, sizeof(name)))
		fail("grantpt/unlockpt");
	slave = open(name, O_RDWR | O_NOCTTY);
	if (slave < 0 || ioctl(master, TIOCGPTN, &idx))
		fail("open %s", name);
	if (tcgetattr(slave, &t))
		fail("tcgetattr");
	cfmakeraw(&t);
	t.c_cc[VMIN] = 3;
	t.c_cc[VTIME] = 7;
	t.c_cc[VINTR] = 1;
	t.c_cc[VEOF] = 2;
	cfsetspeed(&t, B19200);
	if (tcsetattr(slave, TCSANOW, &t) || tcgetattr(slave, &saved))
		fail("tcsetattr");
	if (ioctl(master, TIOCSWINSZ, &ws))
		fail("TIOCSWINSZ");
	write_pattern(master, 1000, 500, "master->slave");
	write_pattern(slave, 700, 501, "slave->master");

	test_daemon();
	test_waitsig();

	if (ioctl(master, TIOCGPTN, &idx2) || idx2 != idx)
		fail("pty index %d, was %d", idx2, idx);
	if (fstat(slave, &st) || stat(name, &pst) || st.st_rdev != pst.st_rdev)
		fail("slave fd is not %s", name);
	if (tcgetattr(slave, &now))
		fail("tcgetattr");
	check_termios(&now, &saved);
	if (ioctl(slave, TIOCGWINSZ, &ws2) || memcmp(&ws, &ws2, sizeof(ws)))
		fail("window size %ux%u (%ux%u px)", ws2.ws_row, ws2.ws_col, ws2.ws_xpixel, ws2.ws_ypixel);
	{
		int n;

		if (ioctl(slave, FIONREAD, &n) || n != 1000)
			fail("slave has %d bytes to read, want 1000", n);
	}
	CHECK((fcntl(master, F_GETFL) & O_ACCMODE) == O_RDWR, "master mode");
	fcntl(slave, F_SETFL, O_NONBLOCK);
	fcntl(master, F_SETFL, O_NONBLOCK);
	read_nb(slave, 1000, 500, "slave reads");
	read_nb(master, 700, 501, "master reads");
	write_pattern(master, 300, 502, "master->slave after");
	usleep(10000);
	read_nb(slave, 300, 502, "slave reads after");
	pass();
}
