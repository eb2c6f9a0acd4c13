// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A pipe fed from outside the tree (run under zdtm-fdhold pipe, like the end
 * of a shell pipeline): the test gets the read end from the holder (socket
 * ZDTM_PIPE), has it as fd 0, O_NONBLOCK, and dup()s it to fd 7 close-on-exec. Each restore gets a new
 * pipe from the holder (--inherit-fd fd[7]:pipe:[INO]) whose only content is
 * the line "zdtm-fdhold INO", INO being that pipe's inode; what was queued in
 * the old pipe at dump must not be written into it. After C/R: fds 0 and 7
 * are one open file (a flag set through one shows through the other) on a
 * pipe read end, fd 7 alone close-on-exec, O_NONBLOCK kept, and the first
 * line read names the inode of the pipe fd 0 is on.
 */
#include <poll.h>
#include <sys/un.h>
#include "fdutil.h"

/* The read end, from the holder listening on path. */
static int get_pipe(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char cbuf[CMSG_SPACE(sizeof(int))], msg[128];
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), fd = -1;

	if (s < 0 || strlen(path) >= sizeof(sa.sun_path))
		fail("socket for %s: %s", path, strerror(errno));
	strcpy(sa.sun_path, path);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) || send(s, "get", 3, 0) != 3 ||
	    recvmsg(s, &mh, 0) <= 0)
		fail("cannot get the pipe from the holder at %s: %s", path, strerror(errno));
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (fd < 0)
		fail("the holder at %s sent no descriptor", path);
	close(s);
	return fd;
}

int main(int argc, char **argv)
{
	const char *path = getenv("ZDTM_PIPE");
	char buf[256], want[64];
	struct stat st, st7;
	size_t len = 0;
	int fd, fl;

	test_init(argc, argv);
	if (!path)
		skip("ZDTM_PIPE is not set: run under zdtm-fdhold pipe (run.sh does, from pipe_ext00.desc)");
	fd = get_pipe(path);
	if (fcntl(fd, F_SETFL, O_NONBLOCK))
		fail("O_NONBLOCK: %s", strerror(errno));
	if (dup2(fd, 0) < 0 || fcntl(0, F_DUPFD_CLOEXEC, 7) != 7)
		fail("dup: %s", strerror(errno));
	close(fd);

	test_daemon();
	test_waitsig();

	if (fstat(0, &st) || fstat(7, &st7))
		fail("fstat: %s", strerror(errno));
	if (!S_ISFIFO(st.st_mode) || st.st_ino != st7.st_ino)
		fail("fds 0 and 7 are not on one pipe (modes %#o %#o, inodes %llu %llu)", st.st_mode,
		     st7.st_mode, (unsigned long long)st.st_ino, (unsigned long long)st7.st_ino);
	if (!(fcntl(7, F_GETFD) & FD_CLOEXEC) || (fcntl(0, F_GETFD) & FD_CLOEXEC))
		fail("fd flags: fd 0 %#x, fd 7 %#x", fcntl(0, F_GETFD), fcntl(7, F_GETFD));
	fl = fcntl(0, F_GETFL);
	if ((fl & O_ACCMODE) != O_RDONLY || !(fl & O_NONBLOCK))
		fail("fd 0 status flags %#o: want O_RDONLY|O_NONBLOCK", fl);
	if (fcntl(7, F_SETFL, fl & ~O_NONBLOCK) || (fcntl(0, F_GETFL) & O_NONBLOCK))
		fail("fds 0 and 7 are not one open file: O_NONBLOCK cleared on 7 stays on 0");
	snprintf(want, sizeof(want), "zdtm-fdhold %llu\n", (unsigned long long)st.st_ino);
	while (len < strlen(want)) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, 10000) <= 0)
			fail("nothing to read from the pipe within 10 s (got '%.*s')", (int)len, buf);
		r = read(0, buf + len, strlen(want) - len);
		if (r <= 0)
			fail("reading the pipe: %s", r ? strerror(errno) : "end of file (no writer)");
		len += r;
	}
	buf[len] = '\0';
	if (strcmp(buf, want))
		fail("read '%s' from the pipe, want '%s' (old data written into the new pipe?)", buf,
		     want);
	pass();
}
