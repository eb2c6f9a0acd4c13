// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sigpending00: blocked pending signals, process-wide and per thread,
 * standard and queued real-time ones with payloads, are restored and then
 * delivered in the kernel's order with the right siginfo.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

struct expect {
	int sig, code, val;
};

static sigset_t blocked;
static int tkill_code; /* what this kernel reports for tgkill()ed signals */
static pid_t main_tid, thr_tid;
static volatile int thr_ready, thr_go, thr_done;
static char thr_err[200];

static unsigned long long proc_mask(pid_t tid, const char *key)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	if (test_read_file(path, buf, sizeof(buf)) <= 0 || !(p = strstr(buf, key)))
		return ~0ULL;
	return strtoull(p + strlen(key), NULL, 16);
}

static int drain(const struct expect *e, int n, char *err, size_t len)
{
	struct timespec zero = { 0, 0 };
	siginfo_t si;
	int i, sig;

	for (i = 0;; i++) {
		sig = sigtimedwait(&blocked, &si, &zero);
		if (sig < 0) {
			if (errno != EAGAIN)
				return snprintf(err, len, "sigtimedwait: %s", strerror(errno));
			break;
		}
		if (i >= n)
			return snprintf(err, len, "unexpected extra signal %d", sig);
		if (sig != e[i].sig || si.si_code != e[i].code)
			return snprintf(err, len, "#%d: signal %d code %d, expected %d code %d", i, sig,
					si.si_code, e[i].sig, e[i].code);
		if (si.si_pid != getpid() || si.si_uid != getuid())
			return snprintf(err, len, "#%d: si_pid %d si_uid %d", i, si.si_pid, si.si_uid);
		if (e[i].code == SI_QUEUE && si.si_value.sival_int != e[i].val)
			return snprintf(err, len, "#%d: signal %d value %d, expected %d", i, sig,
					si.si_value.sival_int, e[i].val);
	}
	if (i != n)
		return snprintf(err, len, "%d signals delivered, expected %d", i, n);
	return 0;
}

static void *thread_fn(void *arg)
{
	struct expect e[] = {
		{ SIGUSR2, tkill_code, 0 },
		{ SIGRTMIN + 3, SI_QUEUE, 300 },
		{ SIGRTMIN + 3, SI_QUEUE, 301 },
	};

	thr_tid = gettid();
	thr_ready = 1;
	while (!thr_go)
		test_msleep(5);
	drain(e, 3, thr_err, sizeof(thr_err));
	thr_done = 1;
	return NULL;
}

static void queue_to_thread(pid_t tid, int sig, int val)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = val;
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, sig, &si))
		fail("rt_tgsigqueueinfo");
}

int main(int argc, char **argv)
{
	struct expect e[] = {
		{ SIGHUP, 0, 0 },	/* main thread's private queue first */
		{ SIGUSR1, SI_USER, 0 },	/* then the shared queue, lowest first */
		{ SIGRTMIN + 1, SI_QUEUE, 200 },
		{ SIGRTMIN + 2, SI_QUEUE, 100 },
		{ SIGRTMIN + 2, SI_QUEUE, 101 },
		{ SIGRTMIN + 2, SI_QUEUE, 102 },
	};
	unsigned long long shd, pnd_main, pnd_thr, want_shd, want_main, want_thr;
	union sigval v;
	pthread_t th;
	char err[200];

	test_init(argc, argv);
	main_tid = gettid();
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGHUP);
	sigaddset(&blocked, SIGUSR1);
	sigaddset(&blocked, SIGUSR2);
	sigaddset(&blocked, SIGRTMIN + 1);
	sigaddset(&blocked, SIGRTMIN + 2);
	sigaddset(&blocked, SIGRTMIN + 3);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	{
		struct timespec zero = { 0, 0 };
		siginfo_t si;

		syscall(SYS_tgkill, getpid(), main_tid, SIGUSR2);
		if (sigtimedwait(&blocked, &si, &zero) != SIGUSR2)
			fail("probe: SIGUSR2 not pending");
		tkill_code = si.si_code;
		e[0].code = tkill_code;
	}
	if (pthread_create(&th, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (!thr_ready)
		test_msleep(2);

	/* Shared queue. */
	v.sival_int = 100;
	sigqueue(getpid(), SIGRTMIN + 2, v);
	kill(getpid(), SIGUSR1);
	v.sival_int = 101;
	sigqueue(getpid(), SIGRTMIN + 2, v);
	v.sival_int = 200;
	sigqueue(getpid(), SIGRTMIN + 1, v);
	v.sival_int = 102;
	sigqueue(getpid(), SIGRTMIN + 2, v);
	/* Private queues. */
	syscall(SYS_tgkill, getpid(), main_tid, SIGHUP);
	syscall(SYS_tgkill, getpid(), thr_tid, SIGUSR2);
	queue_to_thread(thr_tid, SIGRTMIN + 3, 300);
	queue_to_thread(thr_tid, SIGRTMIN + 3, 301);

	want_shd = (1ULL << (SIGUSR1 - 1)) | (1ULL << (SIGRTMIN + 1 - 1)) | (1ULL << (SIGRTMIN + 2 - 1));
	want_main = 1ULL << (SIGHUP - 1);
	want_thr = (1ULL << (SIGUSR2 - 1)) | (1ULL << (SIGRTMIN + 3 - 1));
	if (proc_mask(main_tid, "ShdPnd:") != want_shd || proc_mask(main_tid, "SigPnd:") != want_main ||
	    proc_mask(thr_tid, "SigPnd:") != want_thr)
		fail("setup: pending masks not as expected");

	test_daemon();
	test_waitsig();

	shd = proc_mask(main_tid, "ShdPnd:");
	pnd_main = proc_mask(main_tid, "SigPnd:");
	pnd_thr = proc_mask(thr_tid, "SigPnd:");
	if (shd != want_shd)
		fail("shared pending %llx, expected %llx", shd, want_shd);
	if (pnd_main != want_main)
		fail("main thread pending %llx, expected %llx", pnd_main, want_main);
	if (pnd_thr != want_thr)
		fail("thread pending %llx, expected %llx", pnd_thr, want_thr);
	if (drain(e, sizeof(e) / sizeof(e[0]), err, sizeof(err)))
		fail("main thread: %s", err);
	thr_go = 1;
	pthread_join(th, NULL);
	if (thr_err[0])
		fail("thread: %s", thr_err);
	pass();
}
