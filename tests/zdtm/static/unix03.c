// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SCM_RIGHTS in flight: a stream socketpair queue holds a message carrying
 * two descriptors (a pipe read end with data in the pipe, a regular file at
 * an offset) whose only references are in the queue, followed by plain data.
 * After C/R recvmsg delivers both fds, the pipe still has its data, the
 * file its offset and flags, and the bytes around the message are intact.
 */
#include <sys/socket.h>
#include "fdutil.h"

#define FNAME "unix03.data"

int main(int argc, char **argv)
{
	int sk[2], p[2], f, got[2];
	char cbuf[CMSG_SPACE(sizeof(int) * 2)];
	char data[64];
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sk) || pipe(p))
		fail("socketpair/pipe");
	f = open(FNAME, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (f < 0)
		fail("open");
	write_pattern(f, 4096, 31, "file");
	lseek(f, 1111, SEEK_SET);
	write_pattern(p[1], 2222, 32, "pipe");
	close(p[1]);

	write_pattern(sk[0], 10, 33, "before");
	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	datagen(data, sizeof(data), 34);
	iov.iov_base = data;
	iov.iov_len = sizeof(data);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * 2);
	memcpy(CMSG_DATA(cm), (int[2]){ p[0], f }, sizeof(int) * 2);
	if (sendmsg(sk[0], &mh, 0) != sizeof(data))
		fail("sendmsg");
	close(p[0]);
	close(f);
	write_pattern(sk[0], 20, 35, "after");

	test_daemon();
	test_waitsig();

	read_pattern(sk[1], 10, 33, "bytes before the fds");
	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = data;
	iov.iov_len = sizeof(data);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if (recvmsg(sk[1], &mh, MSG_CMSG_CLOEXEC) != sizeof(data) || datachk(data, sizeof(data), 34))
		fail("message carrying the fds");
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int) * 2) || (mh.msg_flags & MSG_CTRUNC))
		fail("no SCM_RIGHTS with two fds in the queue");
	memcpy(got, CMSG_DATA(cm), sizeof(got));
	{
		struct stat st;

		if (fstat(got[0], &st) || !S_ISFIFO(st.st_mode))
			fail("first fd is not a pipe");
		CHECK((fcntl(got[0], F_GETFL) & O_ACCMODE) == O_RDONLY, "pipe end not O_RDONLY");
		read_pattern(got[0], 2222, 32, "pipe data");
		if (read(got[0], data, 1) != 0)
			fail("pipe: write end should be gone (EOF)");
		if (fstat(got[1], &st) || !S_ISREG(st.st_mode) || st.st_size != 4096)
			fail("second fd is not the 4096-byte file");
		CHECK((fcntl(got[1], F_GETFL) & (O_ACCMODE | O_APPEND)) == (O_RDWR | O_APPEND),
		      "file flags %#o", fcntl(got[1], F_GETFL));
		check_pos(got[1], 1111, "passed file");
	}
	read_pattern(sk[1], 20, 35, "bytes after the fds");
	check_drained(sk[1], "queue");
	pass();
}
