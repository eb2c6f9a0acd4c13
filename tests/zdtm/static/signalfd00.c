// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * signalfds with pending blocked signals: one signalfd for SIGUSR1, SIGUSR2
 * and a real-time signal, one for SIGUSR2 only. Pending: SIGUSR1 by kill()
 * (process-wide), SIGUSR2 by tgkill() (thread), two queued real-time
 * signals with values. After C/R masks, flags, the blocked mask and every
 * pending signal with its code, sender and value are read back.
 */
#include <sys/signalfd.h>
#include "fdutil.h"

static void check_mask(int fd, const char *want, const char *what)
{
	char v[64];

	if (fdinfo_get(fd, "sigmask", v, sizeof(v)) || strcmp(v, want))
		fail("%s: sigmask '%s', was '%s'", what, v, want);
}

static int next(int fd, struct signalfd_siginfo *si)
{
	ssize_t r = read(fd, si, sizeof(*si));

	if (r == -1 && errno == EAGAIN)
		return 0;
	if (r != sizeof(*si))
		fail("signalfd read %zd", r);
	return 1;
}

int main(int argc, char **argv)
{
	int rt = SIGRTMIN + 2;
	sigset_t all, usr2, cur;
	int sfd, sfd2;
	char m1[64], m2[64];
	struct signalfd_siginfo si;
	int n_usr1 = 0, n_rt = 0;

	test_init(argc, argv);
	sigemptyset(&all);
	sigaddset(&all, SIGUSR1);
	sigaddset(&all, SIGUSR2);
	sigaddset(&all, rt);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &all, NULL))
		fail("sigprocmask");
	sfd = signalfd(-1, &all, SFD_NONBLOCK | SFD_CLOEXEC);
	sfd2 = signalfd(-1, &usr2, SFD_NONBLOCK);
	if (sfd < 0 || sfd2 < 0)
		fail("signalfd");
	if (kill(getpid(), SIGUSR1) || syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2) ||
	    sigqueue(getpid(), rt, (union sigval){ .sival_int = 1234 }) ||
	    sigqueue(getpid(), rt, (union sigval){ .sival_int = 5678 }))
		fail("sending signals");
	if (fdinfo_get(sfd, "sigmask", m1, sizeof(m1)) || fdinfo_get(sfd2, "sigmask", m2, sizeof(m2)))
		fail("no sigmask in fdinfo");

	test_daemon();
	test_waitsig();

	check_mask(sfd, m1, "signalfd 1");
	check_mask(sfd2, m2, "signalfd 2");
	CHECK(fcntl(sfd, F_GETFD) == FD_CLOEXEC, "sfd lost FD_CLOEXEC");
	CHECK(fcntl(sfd, F_GETFL) & O_NONBLOCK, "sfd lost O_NONBLOCK");
	if (sigprocmask(SIG_BLOCK, NULL, &cur))
		fail("sigprocmask");
	for (int s = 1; s < SIGRTMAX; s++)
		if (sigismember(&all, s) && !sigismember(&cur, s))
			fail("signal %d no longer blocked", s);
	if (sigpending(&cur))
		fail("sigpending");
	for (int s = 1; s < SIGRTMAX; s++)
		if (sigismember(&cur, s) != sigismember(&all, s))
			fail("signal %d pending=%d, want %d", s, sigismember(&cur, s), sigismember(&all, s));

	/* SIGUSR2 only through the second signalfd */
	if (!next(sfd2, &si) || si.ssi_signo != SIGUSR2)
		fail("sfd2: no SIGUSR2");
	if (si.ssi_code != SI_TKILL || si.ssi_pid != (uint32_t)getpid() || si.ssi_uid != getuid())
		fail("SIGUSR2 code %d pid %u uid %u", si.ssi_code, si.ssi_pid, si.ssi_uid);
	if (next(sfd2, &si))
		fail("sfd2: extra signal %u", si.ssi_signo);

	while (next(sfd, &si)) {
		if (si.ssi_signo == (uint32_t)SIGUSR1) {
			n_usr1++;
			if (si.ssi_code != SI_USER || si.ssi_pid != (uint32_t)getpid())
				fail("SIGUSR1 code %d pid %u", si.ssi_code, si.ssi_pid);
		} else if (si.ssi_signo == (uint32_t)rt) {
			int want = n_rt++ ? 5678 : 1234;

			if (si.ssi_code != SI_QUEUE || si.ssi_int != want)
				fail("rt signal %d: code %d value %d, want %d", n_rt, si.ssi_code, si.ssi_int, want);
		} else {
			fail("unexpected signal %u", si.ssi_signo);
		}
	}
	if (n_usr1 != 1 || n_rt != 2)
		fail("got %d SIGUSR1 and %d real-time signals, want 1 and 2", n_usr1, n_rt);
	/* and new signals still arrive */
	kill(getpid(), SIGUSR1);
	if (!next(sfd, &si) || si.ssi_signo != SIGUSR1)
		fail("new SIGUSR1 not delivered");
	pass();
}
