// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A listening unix socket bound to a path (as libvirt's controller listens
 * on /run/libvirt/lxc/NAME.sock): the test binds ./stale.sock by its absolute
 * path and listens. A dump kills the tree and nobody unlinks the file, so a
 * restore finds a stale socket file at the path, which it must remove before
 * binding again. After C/R the path leads to the test's listener: a client
 * connects, is accepted and its bytes arrive. unix_stale01 is the same
 * program under zdtm-fdhold stale, which checks that the file really is
 * stale after each dump, and that a restore over a regular file or over a
 * socket someone listens on is refused naming the path.
 */
#include <poll.h>
#include <sys/un.h>
#include "fdutil.h"

#define LFD 6

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char cwd[200], buf[16];
	struct stat st, st2;
	int s, c, a;

	test_init(argc, argv);
	if (!getcwd(cwd, sizeof(cwd)) || strlen(cwd) + 12 >= sizeof(sa.sun_path))
		skip("the working directory's path is too long for a socket name");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/stale.sock", cwd);
	unlink(sa.sun_path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 8))
		fail("listen on %s: %s", sa.sun_path, strerror(errno));
	if (dup2(s, LFD) != LFD)
		fail("dup2: %s", strerror(errno));
	close(s);
	if (stat(sa.sun_path, &st))
		fail("stat %s: %s", sa.sun_path, strerror(errno));

	test_daemon();
	test_waitsig();

	if (stat(sa.sun_path, &st2) || !S_ISSOCK(st2.st_mode))
		fail("%s is not a socket file after restore", sa.sun_path);
	if (st2.st_mode != st.st_mode)
		fail("%s: mode %o, was %o", sa.sun_path, st2.st_mode, st.st_mode);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)))
		fail("connect to %s after restore: %s", sa.sun_path, strerror(errno));
	if (write(c, "knock", 5) != 5)
		fail("write: %s", strerror(errno));
	a = accept(LFD, NULL, NULL);
	if (a < 0)
		fail("the listener at fd %d accepts nothing: %s", LFD, strerror(errno));
	if (read_full(a, buf, 5) != 5 || memcmp(buf, "knock", 5))
		fail("the accepted connection did not carry the bytes");
	close(a);
	close(c);
	pass();
}
