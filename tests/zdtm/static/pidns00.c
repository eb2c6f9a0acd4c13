// SPDX-License-Identifier: LGPL-2.1-or-later
/* pidns00: the init of a PID namespace of its own stays pid 1; its children,
 * grandchild and thread keep their PIDs inside the namespace. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

struct shared {
	volatile int ready;
	volatile pid_t child, grandchild, gc_parent;
	volatile int bad;
};

static volatile pid_t thread_tid;

static void *thread_fn(void *arg)
{
	(void)arg;
	thread_tid = gettid();
	while (!test_sigterm_received())
		test_msleep(20);
	if (gettid() != thread_tid)
		fail("thread: gettid() %d, expected %d", gettid(), thread_tid);
	return NULL;
}

int main(int argc, char **argv)
{
	struct shared *sh;
	pthread_t th;
	pid_t c, gc;
	int st;

	test_init(argc, argv);
	if (getpid() != 1)
		skip("needs namespaces of its own (run.sh --ns)");
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail("mmap");
	c = fork();
	if (c < 0)
		fail("fork");
	if (c == 0) {
		pid_t me = getpid();

		gc = fork();
		if (gc == 0) {
			sh->grandchild = getpid();
			sh->ready++;
			for (;;)
				test_msleep(100);
		}
		sh->ready++;
		/* until the init kills us */
		for (;;) {
			if (getpid() != me || getppid() != 1)
				sh->bad = 1;
			test_msleep(20);
		}
	}
	sh->child = c;
	if (pthread_create(&th, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (sh->ready < 2 || !thread_tid)
		test_msleep(10);

	test_daemon();
	test_waitsig();
	if (getpid() != 1 || gettid() != 1)
		fail("init: getpid() %d gettid() %d, expected 1", getpid(), gettid());
	if (sh->bad)
		fail("child: getpid() changed");
	if (kill(c, 0) < 0)
		fail("child %d is gone", c);
	if (kill(sh->grandchild, 0) < 0)
		fail("grandchild %d is gone", sh->grandchild);
	pthread_join(th, NULL);
	kill(c, SIGKILL);
	if (waitpid(c, &st, 0) != c)
		fail("waitpid(%d) failed", c);
	pass();
}
