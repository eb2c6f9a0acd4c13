// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A pty master whose slave is held outside the tree (run under zdtm-fdhold
 * ptm, as libvirt's controller holds the host console master whose slave
 * virsh console opens): the test gets the master from the holder, keeps it
 * at fd 10 (O_NONBLOCK, close-on-exec), gives the pair an odd termios (no
 * echo, VINTR ^G, 38400 baud) and a window size, and watches fd 10 with an
 * epoll at fd 11. Dump is refused until the master is declared with
 * --external tty[RDEV:DEV] (its slave's; the wrapper checks that); each
 * restore gets a new pair from the holder (--inherit-fd), the old index
 * staying taken. After C/R fd 10 is a pty master with the old termios and
 * window size, its flags kept; when the holder writes "POKE" to the new
 * slave, the epoll reports fd 10 readable with its data, and reading it
 * gives the bytes.
 */
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <termios.h>
#include "fdutil.h"

#define MFD 10
#define EFD 11
#define TAG 0x5a5a0123abcdULL

/* Ask the holder at path; with "get", the descriptor it sends. */
static int ask(const char *path, const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char cbuf[CMSG_SPACE(sizeof(int))], msg[256];
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), fd = -1;

	if (s < 0 || strlen(path) >= sizeof(sa.sun_path))
		fail("socket for %s: %s", path, strerror(errno));
	strcpy(sa.sun_path, path);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) || send(s, cmd, strlen(cmd), 0) < 0 ||
	    recvmsg(s, &mh, MSG_CMSG_CLOEXEC) <= 0)
		fail("cannot ask the holder at %s for '%s': %s", path, cmd, strerror(errno));
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	close(s);
	return fd;
}

/* The holder writes "POKE\n" to its slave: the epoll must see fd 10, and fd 10 the bytes. */
static void poke(const char *path, const char *when)
{
	struct epoll_event ev;
	char buf[256];
	size_t len = 0;
	int n;

	ask(path, "poke");
	n = epoll_wait(EFD, &ev, 1, 10000);
	if (n != 1 || !(ev.events & EPOLLIN) || ev.data.u64 != TAG)
		fail("%s: the epoll did not report the master readable within 10 s (%d events, %#x, data %llx)",
		     when, n, n == 1 ? ev.events : 0, n == 1 ? (unsigned long long)ev.data.u64 : 0ULL);
	for (int i = 0; i < 1000 && !memmem(buf, len, "POKE", 4); i++) {
		ssize_t r = read(MFD, buf + len, sizeof(buf) - len);

		if (r > 0)
			len += r;
		else if (r < 0 && errno != EAGAIN)
			fail("%s: read the master: %s", when, strerror(errno));
		else
			usleep(10000);
	}
	if (!memmem(buf, len, "POKE", 4))
		fail("%s: the master did not read POKE (%zu bytes)", when, len);
	n = epoll_wait(EFD, &ev, 1, 0);
	if (n != 0)
		fail("%s: the epoll still reports the master after reading it", when);
}

int main(int argc, char **argv)
{
	const char *path = getenv("ZDTM_PTM");
	struct termios t, t2;
	struct winsize ws = { .ws_row = 33, .ws_col = 111, .ws_xpixel = 7, .ws_ypixel = 9 }, ws2;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG };
	int m, n;

	test_init(argc, argv);
	if (!path)
		skip("ZDTM_PTM is not set: run under zdtm-fdhold ptm (run.sh does, from pty_extmaster00.desc)");
	m = ask(path, "get");
	if (m < 0 || ioctl(m, TIOCGPTN, &n))
		fail("the holder sent no pty master");
	if (dup3(m, MFD, O_CLOEXEC) != MFD)
		fail("dup3: %s", strerror(errno));
	close(m);
	if (fcntl(MFD, F_SETFL, O_NONBLOCK | O_RDWR))
		fail("O_NONBLOCK: %s", strerror(errno));
	if (tcgetattr(MFD, &t))
		fail("tcgetattr: %s", strerror(errno));
	t.c_lflag &= ~(ECHO | ECHOE | ECHOK);
	t.c_cc[VINTR] = 007;
	cfsetispeed(&t, B38400);
	cfsetospeed(&t, B38400);
	if (tcsetattr(MFD, TCSANOW, &t) || ioctl(MFD, TIOCSWINSZ, &ws) || tcgetattr(MFD, &t))
		fail("termios, window size: %s", strerror(errno));
	if (epoll_create1(EPOLL_CLOEXEC) != 3 || dup2(3, EFD) != EFD || close(3) ||
	    epoll_ctl(EFD, EPOLL_CTL_ADD, MFD, &ev))
		fail("epoll at fd %d watching fd %d: %s", EFD, MFD, strerror(errno));
	poke(path, "before C/R");

	test_daemon();
	test_waitsig();

	if (ioctl(MFD, TIOCGPTN, &n))
		fail("fd %d is not a pty master after restore: %s", MFD, strerror(errno));
	if (!(fcntl(MFD, F_GETFD) & FD_CLOEXEC) || !(fcntl(MFD, F_GETFL) & O_NONBLOCK))
		fail("fd %d: flags %#x, fd flags %#x: O_NONBLOCK or close-on-exec lost", MFD,
		     fcntl(MFD, F_GETFL), fcntl(MFD, F_GETFD));
	if (tcgetattr(MFD, &t2))
		fail("tcgetattr: %s", strerror(errno));
	if (t2.c_lflag != t.c_lflag || t2.c_iflag != t.c_iflag || t2.c_oflag != t.c_oflag ||
	    t2.c_cflag != t.c_cflag || memcmp(t2.c_cc, t.c_cc, sizeof(t.c_cc)) ||
	    cfgetospeed(&t2) != B38400)
		fail("termios not restored: lflag %#x (was %#x), VINTR %#x, speed %d", t2.c_lflag,
		     t.c_lflag, t2.c_cc[VINTR], (int)cfgetospeed(&t2));
	if (ioctl(MFD, TIOCGWINSZ, &ws2) || memcmp(&ws, &ws2, sizeof(ws)))
		fail("window size %ux%u (%ux%u px), was %ux%u", ws2.ws_row, ws2.ws_col, ws2.ws_xpixel,
		     ws2.ws_ypixel, ws.ws_row, ws.ws_col);
	poke(path, "after C/R");
	pass();
}
