// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sigaction00: handlers, flags (SA_SIGINFO, SA_RESTART, SA_ONSTACK,
 * SA_NODEFER, SA_RESETHAND, SA_NOCLDSTOP), restorers and masks of every
 * signal are restored, and the handlers run with the right siginfo.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NSIG_ 65

static struct sigaction saved[NSIG_];
static volatile int hits[NSIG_], bad_info[NSIG_];

static void h1(int sig)
{
	hits[sig]++;
}

static void h2(int sig, siginfo_t *si, void *uc)
{
	hits[sig]++;
	if (si->si_signo != sig || si->si_code != SI_TKILL || si->si_pid != getpid())
		bad_info[sig]++;
}

static int skipped(int sig)
{
	return sig == SIGKILL || sig == SIGSTOP || sig == SIGTERM || sig == 32 || sig == 33;
}

static int kind(int sig)
{
	return sig == SIGCHLD ? 5 : sig % 5;
}

static void setup(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	switch (kind(sig)) {
	case 0:
		sa.sa_handler = h1;
		sa.sa_flags = SA_RESTART;
		sigaddset(&sa.sa_mask, SIGUSR1);
		sigaddset(&sa.sa_mask, sig == 64 ? 1 : sig + 1);
		break;
	case 1:
		sa.sa_sigaction = h2;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigaddset(&sa.sa_mask, SIGRTMIN + sig % 8);
		break;
	case 2:
		sa.sa_handler = SIG_IGN;
		sigfillset(&sa.sa_mask);
		break;
	case 3:
		sa.sa_handler = h1;
		sa.sa_flags = SA_NODEFER | SA_RESETHAND;
		sigaddset(&sa.sa_mask, SIGHUP);
		break;
	case 4:
		sa.sa_handler = SIG_DFL;
		sa.sa_flags = SA_RESTART;
		sigaddset(&sa.sa_mask, SIGALRM);
		sigaddset(&sa.sa_mask, SIGRTMAX);
		break;
	case 5:
		sa.sa_sigaction = h2;
		sa.sa_flags = SA_SIGINFO | SA_NOCLDSTOP | SA_RESTART;
		break;
	}
	if (sigaction(sig, &sa, NULL))
		fail("sigaction(%d)", sig);
	if (sigaction(sig, NULL, &saved[sig]))
		fail("sigaction(%d, NULL)", sig);
}

int main(int argc, char **argv)
{
	struct sigaction cur;
	int sig, s;

	test_init(argc, argv);
	for (sig = 1; sig < NSIG_; sig++)
		if (!skipped(sig))
			setup(sig);

	test_daemon();
	test_waitsig();

	for (sig = 1; sig < NSIG_; sig++) {
		if (skipped(sig))
			continue;
		if (sigaction(sig, NULL, &cur))
			fail("sigaction(%d, NULL)", sig);
		if (cur.sa_handler != saved[sig].sa_handler)
			fail("signal %d: handler %p, expected %p", sig, (void *)cur.sa_handler,
			     (void *)saved[sig].sa_handler);
		if (cur.sa_flags != saved[sig].sa_flags)
			fail("signal %d: flags %#x, expected %#x", sig, cur.sa_flags, saved[sig].sa_flags);
		if (cur.sa_restorer != saved[sig].sa_restorer)
			fail("signal %d: restorer changed", sig);
		for (s = 1; s < NSIG_; s++)
			if (sigismember(&cur.sa_mask, s) != sigismember(&saved[sig].sa_mask, s))
				fail("signal %d: mask bit for %d is %d", sig, s, sigismember(&cur.sa_mask, s));
	}
	/* Deliver every handled signal once. */
	for (sig = 1; sig < NSIG_; sig++) {
		int k = kind(sig);

		if (skipped(sig) || k == 2 || k == 4)
			continue;
		raise(sig);
		if (hits[sig] != 1)
			fail("signal %d: handler ran %d times", sig, hits[sig]);
		if (bad_info[sig])
			fail("signal %d: wrong siginfo", sig);
		if (k == 3) {
			sigaction(sig, NULL, &cur);
			if (cur.sa_handler != SIG_DFL)
				fail("signal %d: SA_RESETHAND did not reset the handler", sig);
		}
	}
	pass();
}
