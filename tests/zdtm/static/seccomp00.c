// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * seccomp00: two stacked BPF filters stay installed (per thread: a thread
 * created before the filters stays unfiltered) and keep filtering.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

static volatile int ready[2], go, done[2];
static char errs[2][200];
static pid_t tids[2];

static void install(int nr, int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		fail("seccomp(SET_MODE_FILTER): %s", strerror(errno));
}

static int check(int filtered, char *err, size_t len)
{
	char path[64], buf[4096], *p;
	unsigned int cpu;
	long r;

	errno = 0;
	r = syscall(SYS_getpriority, PRIO_PROCESS, 0);
	if (filtered && (r != -1 || errno != EPERM))
		return snprintf(err, len, "getpriority not filtered (%ld, %s)", r, strerror(errno));
	if (!filtered && r < 0)
		return snprintf(err, len, "getpriority filtered in an unfiltered thread");
	errno = 0;
	r = syscall(SYS_getcpu, &cpu, NULL, NULL);
	if (filtered && (r != -1 || errno != EXDEV))
		return snprintf(err, len, "getcpu not filtered (%ld, %s)", r, strerror(errno));
	if (!filtered && r < 0)
		return snprintf(err, len, "getcpu filtered in an unfiltered thread");
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", gettid());
	if (test_read_file(path, buf, sizeof(buf)) <= 0 || !(p = strstr(buf, "Seccomp:")))
		return snprintf(err, len, "no Seccomp: in %s", path);
	if (atoi(p + 8) != (filtered ? 2 : 0))
		return snprintf(err, len, "Seccomp mode %d", atoi(p + 8));
	if ((p = strstr(buf, "Seccomp_filters:")) && atoi(p + 16) != (filtered ? 2 : 0))
		return snprintf(err, len, "%d filters, expected %d", atoi(p + 16), filtered ? 2 : 0);
	return 0;
}

static void *thread_fn(void *arg)
{
	int idx = (int)(long)arg;

	tids[idx] = gettid();
	ready[idx] = 1;
	while (!go)
		test_msleep(5);
	check(idx == 1, errs[idx], sizeof(errs[idx]));
	done[idx] = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[2];
	char err[200];
	int i;

	test_init(argc, argv);
	/* Thread 0 exists before the filters and stays unfiltered. */
	if (pthread_create(&th[0], NULL, thread_fn, (void *)0L))
		fail("pthread_create");
	while (!ready[0])
		test_msleep(2);
	install(SYS_getpriority, EPERM);
	install(SYS_getcpu, EXDEV);
	if (pthread_create(&th[1], NULL, thread_fn, (void *)1L))
		fail("pthread_create");
	while (!ready[1])
		test_msleep(2);
	if (check(1, err, sizeof(err)))
		fail("setup: %s", err);

	test_daemon();
	test_waitsig();

	if (check(1, err, sizeof(err)))
		fail("main thread: %s", err);
	go = 1;
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		if (errs[i][0])
			fail("thread %d (%s): %s", i, i ? "filtered" : "unfiltered", errs[i]);
	}
	pass();
}
