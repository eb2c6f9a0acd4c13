// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pidfds of a child: a blocking one and a PIDFD_NONBLOCK one. After C/R both
 * still refer to the same child (fdinfo Pid), poll says it is alive,
 * pidfd_send_signal reaches it, and after it exits poll reports POLLIN and
 * waitid(P_PIDFD) returns its exit status.
 */
#include <poll.h>
#include "fdutil.h"

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_open(pid_t pid, unsigned flags)
{
	return syscall(SYS_pidfd_open, pid, flags);
}

static int pidfd_pid(int fd)
{
	char v[32];

	if (fdinfo_get(fd, "Pid", v, sizeof(v)))
		fail("no Pid in fdinfo of %d", fd);
	return atoi(v);
}

int main(int argc, char **argv)
{
	int pfd, pfd_nb, sync_p[2];
	struct pollfd p;
	siginfo_t si;
	pid_t pid;
	char c;

	test_init(argc, argv);
	if (pipe(sync_p))
		fail("pipe");
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		close(sync_p[0]);
		close(sync_p[1]);
		test_waitsig();
		exit(7);
	}
	close(sync_p[1]);
	pfd = pidfd_open(pid, 0);
	if (pfd < 0)
		skip("pidfd_open: %s", strerror(errno));
	pfd_nb = pidfd_open(pid, PIDFD_NONBLOCK);
	if (pfd_nb < 0)
		fail("pidfd_open(PIDFD_NONBLOCK)");
	/* the child closed its copy: EOF means it is running with no fds of ours */
	if (read(sync_p[0], &c, 1) != 0)
		fail("sync");

	test_daemon();
	test_waitsig();

	CHECK(pidfd_pid(pfd) == pid, "pidfd refers to pid %d, want %d", pidfd_pid(pfd), pid);
	CHECK(pidfd_pid(pfd_nb) == pid, "non-blocking pidfd refers to %d", pidfd_pid(pfd_nb));
	CHECK(fcntl(pfd_nb, F_GETFL) & O_NONBLOCK, "PIDFD_NONBLOCK lost");
	CHECK(!(fcntl(pfd, F_GETFL) & O_NONBLOCK), "blocking pidfd became non-blocking");
	p = (struct pollfd){ .fd = pfd, .events = POLLIN };
	if (poll(&p, 1, 0) != 0)
		fail("poll says the child exited already (revents %#x)", p.revents);
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, pfd_nb, &si, WEXITED) != -1 || errno != EAGAIN)
		fail("waitid on the non-blocking pidfd of a live child did not give EAGAIN");
	if (syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0))
		fail("pidfd_send_signal");
	p = (struct pollfd){ .fd = pfd_nb, .events = POLLIN };
	if (poll(&p, 1, 5000) != 1 || !(p.revents & POLLIN))
		fail("poll did not report the child's exit");
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, pfd, &si, WEXITED))
		fail("waitid(P_PIDFD)");
	if (si.si_pid != pid || si.si_code != CLD_EXITED || si.si_status != 7)
		fail("child %d: code %d status %d, want exit 7", si.si_pid, si.si_code, si.si_status);
	pass();
}
