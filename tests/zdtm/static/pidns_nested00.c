// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pidns_nested00: a PID namespace nested in the tree's (DEPTH levels deep:
 * 1 here, 2 in pidns_nested01). Its init N has a thread, a child A that
 * leads its own process group with a thread and a child A1 in it, a child B
 * in N's group, and a zombie child Z that exited with 7. Each checks its own
 * ids from inside (getpid, gettid, getppid, getpgid, getsid); N checks its
 * children's groups and the zombie (waitid); the root checks the parent's
 * view: the PID of every nested process as it sees it (SCM credentials over
 * a datagram socketpair, translated by the kernel into its namespace), their
 * groups and sessions there, and waitpid() of its child with its status.
 * Ids that the kernel keeps: a pidfd N holds on A and one the root holds on
 * its child (each must still signal the right process), and a POSIX timer of
 * N aimed at its main thread (SIGEV_THREAD_ID with tid 1, its id inside the
 * namespace; a timer aimed at another thread cannot be restored yet).
 * The root also has a second child, the init of another nested namespace,
 * that is a zombie (exit 5).
 * Runs in the host's PID namespace and, with run.sh --ns, nested further.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef DEPTH
#define DEPTH 1
#endif

/* the nested processes */
enum { R_C1, R_N, R_A, R_A1, R_B, R_PROCS, R_NT = R_PROCS, R_AT, R_NR };
static const char *const names[R_NR] = { "C1", "N", "A", "A1", "B", "N's thread", "A's thread" };

struct ids {
	pid_t pid, ppid, pgid, sid, tid;	/* as the process itself sees them */
};

struct shared {
	volatile int ready;
	volatile int go;	/* 1: verify and report again; 2: finish */
	volatile int checked;
	volatile int bad;
	char why[256];
	struct ids self[R_NR];
	pid_t a, a1, b, z;	/* as N sees them */
	volatile int usr1[R_NR];	/* SIGUSR1 arrived, per process */
	volatile pid_t usr2_tid;	/* the thread N's timer signalled */
};

static struct shared *sh;
static int sk[2];
static int my_role;

static void on_usr1(int sig)
{
	(void)sig;
	sh->usr1[my_role] = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	sh->usr2_tid = gettid();
}

static int pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_kill(int pfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
}

static void bad(const char *fmt, ...) ZDTM_PRINTF(1, 2);
static void bad(const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(&sh->bad, 1, __ATOMIC_SEQ_CST))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->why, sizeof(sh->why), fmt, ap);
	va_end(ap);
}

static void wait_flag(volatile int *f, const char *what)
{
	for (int i = 0; i < 500 && !*f; i++)
		test_msleep(10);
	if (!*f)
		bad("%s", what);
}

static void record(int role, pid_t tid)
{
	if (!tid)
		my_role = role;
	sh->self[role] = (struct ids){ getpid(), getppid(), getpgid(0), getsid(0), tid };
}

static void check(int role, pid_t tid)
{
	const struct ids *s = &sh->self[role];

	if (getpid() != s->pid || getppid() != s->ppid || getpgid(0) != s->pgid ||
	    getsid(0) != s->sid)
		bad("%s: pid/ppid/pgid/sid %d/%d/%d/%d, expected %d/%d/%d/%d", names[role], getpid(),
		    getppid(), getpgid(0), getsid(0), s->pid, s->ppid, s->pgid, s->sid);
	if (tid && gettid() != s->tid)
		bad("%s: thread id %d, expected %d", names[role], gettid(), s->tid);
}

/* Tell the root who we are: the kernel puts our PID in its view. */
static void report(int role)
{
	char c = (char)role;

	if (send(sk[1], &c, 1, 0) != 1)
		bad("%s: send: %s", names[role], strerror(errno));
}

/* fork() into a new PID namespace, the caller's own staying its children's. */
static pid_t fork_newpid(void)
{
	int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	pid_t p;

	if (own < 0)
		fail("open /proc/self/ns/pid");
	if (unshare(CLONE_NEWPID) < 0) {
		if (errno == EPERM)
			skip("unshare(CLONE_NEWPID): %s: needs CAP_SYS_ADMIN", strerror(errno));
		fail("unshare(CLONE_NEWPID)");
	}
	p = fork();
	if (p != 0 && setns(own, CLONE_NEWPID) < 0)
		fail("setns back to our own PID namespace");
	close(own);
	return p;
}

/* Leave gaps in the PID numbering: ids that are merely allocated in the
 * same order again at restore would not match. */
static void burn_pids(int n)
{
	for (int i = 0; i < n; i++) {
		pid_t p = fork();

		if (p == 0)
			_exit(0);
		if (p > 0)
			waitpid(p, NULL, 0);
	}
}

static void wait_go(int v)
{
	while (sh->go < v)
		test_msleep(10);
}

static void *thread_fn(void *arg)
{
	int role = (int)(long)arg;

	record(role, gettid());
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	wait_go(1);
	check(role, gettid());
	return NULL;
}

static void member(int role, void (*more)(void))
{
	record(role, 0);
	if (more)
		more();
	report(role);
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	wait_go(1);
	check(role, 0);
	report(role);
	__atomic_add_fetch(&sh->checked, 1, __ATOMIC_SEQ_CST);
	wait_go(2);
	_exit(0);
}

static void a1_more(void)
{
	if (getpgid(0) != getppid())
		bad("A1: not in A's group");
}

static void a_more(void)
{
	pthread_t th;
	pid_t a1;

	a1 = fork();
	if (a1 < 0)
		bad("A: fork");
	if (a1 == 0)
		member(R_A1, a1_more);
	sh->a1 = a1;	/* before A reports ready */
	if (pthread_create(&th, NULL, thread_fn, (void *)(long)R_AT))
		bad("A: pthread_create");
}

/* The init of the innermost namespace. */
static void n_main(void)
{
	struct itimerspec its = { { 0, 0 }, { 0, 1000000 } };
	struct sigevent sev;
	pthread_t th;
	siginfo_t si;
	pid_t a, b, z;
	timer_t timer;
	int st, pfd;

	if (DEPTH == 2 && setsid() < 0)
		bad("N: setsid: %s", strerror(errno));
	record(R_N, 0);
	if (getpid() != 1)
		bad("N: pid %d, not 1", getpid());
	/* sh is shared: the children must not see their fork() result there */
	a = fork();
	if (a == 0) {
		setpgid(0, 0);
		member(R_A, a_more);
	}
	burn_pids(2);
	b = fork();
	if (b == 0)
		member(R_B, NULL);
	z = fork();
	if (z == 0)
		_exit(7);
	if (a < 0 || b < 0 || z < 0)
		bad("N: fork");
	sh->a = a;
	sh->b = b;
	sh->z = z;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, sh->z, &si, WEXITED | WNOWAIT) < 0)
		bad("N: waitid(%d): %s", sh->z, strerror(errno));
	if (pthread_create(&th, NULL, thread_fn, (void *)(long)R_NT))
		bad("N: pthread_create");
	pfd = pidfd_open(a);
	if (pfd < 0)
		bad("N: pidfd_open(%d): %s", a, strerror(errno));
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR2;
	sev._sigev_un._tid = gettid();
	if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &timer) < 0)
		bad("N: timer_create for thread %d: %s", gettid(), strerror(errno));
	report(R_N);
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);

	wait_go(1);
	check(R_N, 0);
	if (getpid() != 1 || gettid() != 1)
		bad("N: getpid() %d gettid() %d after restore, expected 1", getpid(), gettid());
	/* the timer is armed only now: it must reach the same thread */
	if (syscall(SYS_timer_settime, timer, 0, &its, NULL) < 0)
		bad("N: timer_settime: %s", strerror(errno));
	for (int i = 0; i < 500 && !sh->usr2_tid; i++)
		test_msleep(10);
	if (sh->usr2_tid != 1)
		bad("N: its timer signalled thread %d, expected 1", sh->usr2_tid);
	if (pidfd_kill(pfd, SIGUSR1) < 0)
		bad("N: pidfd_send_signal to A: %s", strerror(errno));
	wait_flag(&sh->usr1[R_A], "N: A did not get the signal sent through N's pidfd");
	pthread_join(th, NULL);
	if (getpgid(sh->a) != sh->a || getpgid(sh->a1) != sh->a || getpgid(sh->b) != getpgid(0))
		bad("N: groups of A %d, A1 %d, B %d are %d, %d, %d", sh->a, sh->a1, sh->b,
		    getpgid(sh->a), getpgid(sh->a1), getpgid(sh->b));
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, sh->z, &si, WEXITED | WNOWAIT | WNOHANG) < 0 || si.si_pid != sh->z ||
	    si.si_code != CLD_EXITED || si.si_status != 7)
		bad("N: zombie %d: waitid gave pid %d code %d status %d", sh->z, si.si_pid,
		    si.si_code, si.si_status);
	report(R_N);
	__atomic_add_fetch(&sh->checked, 1, __ATOMIC_SEQ_CST);
	wait_go(2);
	if (waitpid(sh->z, &st, 0) != sh->z || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
		bad("N: reaping zombie %d failed (status 0x%x)", sh->z, st);
	kill(sh->a1, SIGKILL);
	waitpid(sh->a, &st, 0);
	waitpid(sh->b, &st, 0);
	_exit(sh->bad ? 1 : 0);
}

/* DEPTH 2: the init of the outer nested namespace, parent of N. */
static void c1_main(void)
{
	pid_t n;
	int st;

	record(R_C1, 0);
	burn_pids(2);
	n = fork_newpid();
	if (n < 0)
		bad("C1: fork: %s", strerror(errno));
	if (n == 0)
		n_main();
	report(R_C1);
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	wait_go(1);
	check(R_C1, 0);
	if (getpid() != 1)
		bad("C1: pid %d, not 1", getpid());
	report(R_C1);
	__atomic_add_fetch(&sh->checked, 1, __ATOMIC_SEQ_CST);
	if (waitpid(n, &st, 0) != n)
		bad("C1: waitpid(%d): %s", n, strerror(errno));
	else if (!WIFEXITED(st) || WEXITSTATUS(st))
		bad("C1: N exited with status 0x%x", st);
	_exit(sh->bad ? 1 : 0);
}

/* Receive one report per nested process: pids[role] as the root sees it. */
static void collect(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++) {
		char c, cbuf[CMSG_SPACE(sizeof(struct ucred))];
		struct iovec iov = { &c, 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		struct ucred uc;

		if (recvmsg(sk[0], &mh, 0) != 1)
			fail("%d of %d nested processes reported (recvmsg: %s)%s%s", i, n,
			     strerror(errno), sh->bad ? "; " : "", sh->bad ? sh->why : "");
		cm = CMSG_FIRSTHDR(&mh);
		if (!cm || cm->cmsg_type != SCM_CREDENTIALS || (unsigned char)c >= R_PROCS)
			fail("a report without credentials");
		memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
		pids[(unsigned char)c] = uc.pid;
	}
}

int main(int argc, char **argv)
{
	pid_t before[R_PROCS] = { 0 }, after[R_PROCS] = { 0 }, pg[R_PROCS], sid[R_PROCS], c1, zi;
	siginfo_t si;
	struct timeval tmo = { 30, 0 };	/* a process that died does not report */
	int one = 1, nr = DEPTH == 2 ? 5 : 4, st, pfd;

	test_init(argc, argv);
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail("mmap");
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sk) < 0 ||
	    setsockopt(sk[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    setsockopt(sk[0], SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) < 0)
		fail("socketpair");

	burn_pids(3);
	c1 = fork_newpid();
	if (c1 < 0)
		fail("fork");
	if (c1 == 0) {
		if (DEPTH == 2)
			c1_main();
		n_main();
	}
	/* a second nested init that is a zombie already */
	zi = fork_newpid();
	if (zi == 0)
		_exit(5);
	if (zi < 0)
		fail("fork");
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, zi, &si, WEXITED | WNOWAIT) < 0)
		fail("waitid(%d): %s", zi, strerror(errno));
	pfd = pidfd_open(c1);
	if (pfd < 0)
		fail("pidfd_open(%d): %s", c1, strerror(errno));
	/* reports: C1 (DEPTH 2), N, A, A1, B; ready: those and 2 threads */
	collect(before, nr);
	while (sh->ready < nr + 2 && !sh->bad)
		test_msleep(10);
	if (sh->bad)
		fail("%s", sh->why);
	if (before[DEPTH == 2 ? R_C1 : R_N] != c1)
		fail("the nested init is %d by its credentials, %d by fork()",
		     before[DEPTH == 2 ? R_C1 : R_N], c1);
	for (int r = DEPTH == 2 ? R_C1 : R_N; r < R_PROCS; r++) {
		pg[r] = getpgid(before[r]);
		sid[r] = getsid(before[r]);
	}

	test_daemon();
	test_waitsig();

	/* the socket's options may not have been restored: the test is about PIDs */
	setsockopt(sk[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	sh->go = 1;
	collect(after, nr);
	for (int i = 0; i < 3000 && sh->checked < nr && !sh->bad; i++)
		test_msleep(10);
	if (sh->checked < nr && !sh->bad)
		fail("only %d of %d nested processes checked themselves", sh->checked, nr);
	if (sh->bad)
		fail("%s", sh->why);
	for (int r = DEPTH == 2 ? R_C1 : R_N; r < R_PROCS; r++) {
		if (after[r] != before[r])
			fail("%s is pid %d from the root, was %d", names[r], after[r], before[r]);
		if (getpgid(after[r]) != pg[r] || getsid(after[r]) != sid[r])
			fail("%s (%d): group %d session %d from the root, were %d and %d", names[r],
			     after[r], getpgid(after[r]), getsid(after[r]), pg[r], sid[r]);
	}
	if (pidfd_kill(pfd, SIGUSR1) < 0)
		fail("pidfd_send_signal to %d: %s", c1, strerror(errno));
	wait_flag(&sh->usr1[DEPTH == 2 ? R_C1 : R_N], "the nested init did not get the signal sent through the root's pidfd");
	if (sh->bad)
		fail("%s", sh->why);
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, zi, &si, WEXITED | WNOWAIT | WNOHANG) < 0 || si.si_pid != zi ||
	    si.si_code != CLD_EXITED || si.si_status != 5)
		fail("zombie nested init %d: waitid gave pid %d code %d status %d", zi, si.si_pid,
		     si.si_code, si.si_status);
	if (waitpid(zi, &st, 0) != zi || !WIFEXITED(st) || WEXITSTATUS(st) != 5)
		fail("reaping zombie nested init %d: status 0x%x", zi, st);
	sh->go = 2;
	if (waitpid(c1, &st, 0) != c1)
		fail("waitpid(%d): %s", c1, strerror(errno));
	if (sh->bad)
		fail("%s", sh->why);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("the nested init %d ended with status 0x%x", c1, st);
	pass();
}
