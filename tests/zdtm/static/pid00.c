// SPDX-License-Identifier: LGPL-2.1-or-later
/* pid00: pids, tids and parent pids of a small tree are unchanged. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

struct shared {
	volatile int ready;
};

static pid_t thread_tid;
static volatile int thread_ok;

static void check_self(const char *who, pid_t pid, pid_t ppid)
{
	char path[64], buf[512];
	int spid = -1;

	if (getpid() != pid)
		fail("%s: getpid() %d, expected %d", who, getpid(), pid);
	if (gettid() != pid)
		fail("%s: gettid() %d, expected %d", who, gettid(), pid);
	if (ppid && getppid() != ppid)
		fail("%s: getppid() %d, expected %d", who, getppid(), ppid);
	snprintf(path, sizeof(path), "/proc/self/stat");
	if (test_read_file(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%d", &spid) != 1 || spid != pid)
		fail("%s: /proc/self/stat says pid %d, expected %d", who, spid, pid);
}

static void *thread_fn(void *arg)
{
	thread_tid = gettid();
	while (!test_sigterm_received())
		test_msleep(20);
	if (gettid() != thread_tid)
		fail("thread: gettid() %d, expected %d", gettid(), thread_tid);
	if (getpid() != *(pid_t *)arg)
		fail("thread: getpid() %d, expected %d", getpid(), *(pid_t *)arg);
	thread_ok = 1;
	return NULL;
}

static void wait_child(pid_t pid, const char *who)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		fail("%s: waitpid(%d) failed", who, pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("%s: child %d ended with status 0x%x", who, pid, st);
}

int main(int argc, char **argv)
{
	struct shared *sh;
	pid_t me, child, grandchild, parent;
	pthread_t th;
	char buf[256];
	DIR *d;
	struct dirent *de;
	int ntasks;

	test_init(argc, argv);
	me = getpid();

	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail("mmap");

	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		pid_t c = getpid();

		grandchild = fork();
		if (grandchild < 0)
			fail("fork (grandchild)");
		if (grandchild == 0) {
			pid_t g = getpid();

			sh->ready++;
			test_waitsig();
			check_self("grandchild", g, c);
			exit(0);
		}
		while (sh->ready < 1)
			test_msleep(5);
		sh->ready++;
		test_waitsig();
		check_self("child", c, me);
		kill(grandchild, SIGTERM);
		wait_child(grandchild, "child");
		exit(0);
	}
	while (sh->ready < 2)
		test_msleep(5);
	if (pthread_create(&th, NULL, thread_fn, &me))
		fail("pthread_create");
	while (!thread_tid)
		test_msleep(5);
	parent = getppid();

	test_daemon();
	test_waitsig();

	check_self("root", me, 0);
	if (getppid() != parent)
		test_msg("root's parent changed from %d to %d (expected after restore)", parent, getppid());
	ntasks = 0;
	d = opendir("/proc/self/task");
	if (!d)
		fail("opendir /proc/self/task");
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		ntasks++;
		if (atoi(de->d_name) != me && atoi(de->d_name) != thread_tid)
			fail("unexpected task %s", de->d_name);
	}
	closedir(d);
	if (ntasks != 2)
		fail("%d tasks, expected 2", ntasks);
	snprintf(buf, sizeof(buf), "/proc/%d/task/%d/children", me, me);
	if (test_read_file(buf, buf, sizeof(buf)) <= 0 || atoi(buf) != child)
		fail("children of root: '%s', expected %d", buf, child);
	kill(child, SIGTERM);
	wait_child(child, "root");
	pthread_join(th, NULL);
	if (!thread_ok)
		fail("thread check did not complete");
	pass();
}
