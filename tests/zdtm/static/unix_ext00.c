// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A unix stream connection to a peer outside the tree (run under zdtm-fdhold
 * unix, as libvirt's controller holds its connection from libvirtd): the test
 * connects fd 9 (close-on-exec, O_NONBLOCK, SO_SNDBUF set) to the holder,
 * reads its "HELLO" and leaves "QUEUED" unread. Dump is refused until the
 * socket is declared with --external unix[INO] (the wrapper checks that);
 * then the holder closes its end for good. After C/R fd 9 is the same kind
 * of socket with its flags and buffer size, disconnected: poll says POLLHUP,
 * it reads "QUEUED" and then end of file, and writing gives EPIPE; the
 * test's other descriptors (a pipe with data) are intact.
 */
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include "fdutil.h"

#define SK 9

int main(int argc, char **argv)
{
	const char *path = getenv("ZDTM_UNIX");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, p[2], snd = 0, v, type = 0;
	socklen_t l = sizeof(v);
	char buf[64];
	struct stat st;
	ssize_t n;

	test_init(argc, argv);
	if (!path)
		skip("ZDTM_UNIX is not set: run under zdtm-fdhold unix (run.sh does, from unix_ext00.desc)");
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || strlen(path) >= sizeof(sa.sun_path))
		fail("socket: %s", strerror(errno));
	strcpy(sa.sun_path, path);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)))
		fail("connect %s: %s", path, strerror(errno));
	if (dup3(s, SK, O_CLOEXEC) != SK)
		fail("dup3: %s", strerror(errno));
	close(s);
	v = 48 * 1024;
	if (setsockopt(SK, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) ||
	    getsockopt(SK, SOL_SOCKET, SO_SNDBUF, &snd, &l))
		fail("SO_SNDBUF: %s", strerror(errno));
	if (fstat(SK, &st))
		fail("fstat: %s", strerror(errno));
	n = snprintf(buf, sizeof(buf), "INO %llu\n", (unsigned long long)st.st_ino);
	if (write(SK, buf, n) != n)
		fail("cannot greet the holder: %s", strerror(errno));
	if (read_full(SK, buf, 6) != 6 || memcmp(buf, "HELLO\n", 6))
		fail("no HELLO from the holder");
	for (int i = 0;; i++) {
		int q = 0;

		if (ioctl(SK, FIONREAD, &q) == 0 && q >= 7)
			break;
		if (i == 1000)
			fail("the holder's QUEUED did not arrive within 10 s");
		usleep(10000);
	}
	if (fcntl(SK, F_SETFL, O_NONBLOCK))
		fail("O_NONBLOCK: %s", strerror(errno));
	if (pipe(p) || write(p[1], "pipe-ok", 7) != 7)
		fail("pipe: %s", strerror(errno));

	test_daemon();
	test_waitsig();

	if (fstat(SK, &st) || !S_ISSOCK(st.st_mode))
		fail("fd %d is not a socket after restore", SK);
	l = sizeof(type);
	if (getsockopt(SK, SOL_SOCKET, SO_TYPE, &type, &l) || type != SOCK_STREAM)
		fail("fd %d: type %d, not SOCK_STREAM", SK, type);
	if (!(fcntl(SK, F_GETFD) & FD_CLOEXEC))
		fail("fd %d lost close-on-exec", SK);
	if (!(fcntl(SK, F_GETFL) & O_NONBLOCK))
		fail("fd %d lost O_NONBLOCK", SK);
	l = sizeof(v);
	if (getsockopt(SK, SOL_SOCKET, SO_SNDBUF, &v, &l) || v != snd)
		fail("SO_SNDBUF %d, was %d", v, snd);
	{
		struct pollfd pfd = { .fd = SK, .events = POLLIN | POLLOUT };

		if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLHUP))
			fail("poll: revents %#x, no POLLHUP (is it still connected?)", pfd.revents);
	}
	n = read(SK, buf, sizeof(buf));
	if (n != 7 || memcmp(buf, "QUEUED\n", 7))
		fail("read %zd bytes (%s), not the queued \"QUEUED\"", n, n < 0 ? strerror(errno) : "");
	n = read(SK, buf, sizeof(buf));
	if (n != 0)
		fail("read after the queue: %zd (%s), not end of file", n, n < 0 ? strerror(errno) : "data");
	if (send(SK, "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
		fail("send: %s, not EPIPE", strerror(errno));
	n = read(p[0], buf, sizeof(buf));
	if (n != 7 || memcmp(buf, "pipe-ok", 7))
		fail("the pipe lost its data (%zd bytes)", n);
	pass();
}
