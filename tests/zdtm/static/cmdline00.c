// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cmdline00: per-thread names (PR_SET_NAME) and an argv rewritten in place
 * are restored: /proc/self/cmdline, /proc/self/environ and every thread's
 * comm read back byte for byte.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NTHREADS 4
#define BUFSZ 65536

struct tinfo {
	int idx;
	pid_t tid;
	char name[16];
	volatile int ready;
	char err[200];
};

static struct tinfo ti[NTHREADS];
static volatile int go;

static void *thread_fn(void *arg)
{
	struct tinfo *t = arg;
	char name[32] = "";

	t->tid = gettid();
	snprintf(t->name, sizeof(t->name), "zdtm-cmd-t%d", t->idx);
	if (prctl(PR_SET_NAME, t->name, 0, 0, 0))
		fail("PR_SET_NAME");
	t->ready = 1;
	while (!go)
		test_msleep(5);
	prctl(PR_GET_NAME, name, 0, 0, 0);
	if (strcmp(name, t->name))
		snprintf(t->err, sizeof(t->err), "name '%s', expected '%s'", name, t->name);
	return NULL;
}

static long read_all(const char *path, char *buf)
{
	long n = test_read_file(path, buf, BUFSZ);

	if (n < 0)
		fail("read %s", path);
	return n;
}

static void check_comm(pid_t tid, const char *want)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	if (test_read_file(path, buf, sizeof(buf)) <= 0)
		fail("read %s", path);
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, want))
		fail("%s is '%s', expected '%s'", path, buf, want);
}

static char cmd_want[BUFSZ], env_want[BUFSZ], cmd_now[BUFSZ], env_now[BUFSZ];

int main(int argc, char **argv)
{
	static const char head[] = "zdtm-cmdline00-rewritten";
	pthread_t th[NTHREADS];
	long cmd_len, env_len, n;
	char *start, *end;
	size_t len, k;
	int i;

	test_init(argc, argv);
	/* Rewrite the whole argv area in place: same length, new words. */
	start = argv[0];
	end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
	len = end - start;
	if (len < sizeof(head) + 8)
		skip("argv area too small (%zu bytes)", len);
	memcpy(start, head, sizeof(head));
	for (k = sizeof(head); k < len - 1; k++)
		start[k] = (k % 11 == 10) ? '\0' : 'a' + (k * 7) % 26;
	start[len - 1] = '\0';

	if (prctl(PR_SET_NAME, "zdtm-cmd-main", 0, 0, 0))
		fail("PR_SET_NAME");
	for (i = 0; i < NTHREADS; i++) {
		ti[i].idx = i;
		if (pthread_create(&th[i], NULL, thread_fn, &ti[i]))
			fail("pthread_create");
	}
	for (i = 0; i < NTHREADS; i++)
		while (!ti[i].ready)
			test_msleep(2);

	cmd_len = read_all("/proc/self/cmdline", cmd_want);
	env_len = read_all("/proc/self/environ", env_want);
	if (cmd_len != (long)len || memcmp(cmd_want, start, len))
		fail("setup: /proc/self/cmdline (%ld bytes) does not show the rewritten argv (%zu bytes)",
		     cmd_len, len);

	test_daemon();
	test_waitsig();

	n = read_all("/proc/self/cmdline", cmd_now);
	if (n != cmd_len)
		fail("/proc/self/cmdline is %ld bytes, expected %ld", n, cmd_len);
	for (k = 0; k < (size_t)n; k++)
		if (cmd_now[k] != cmd_want[k])
			fail("/proc/self/cmdline differs at byte %zu", k);
	if (memcmp(start, cmd_want, len))
		fail("argv memory differs");
	n = read_all("/proc/self/environ", env_now);
	if (n != env_len || memcmp(env_now, env_want, n))
		fail("/proc/self/environ differs (%ld bytes, expected %ld)", n, env_len);
	check_comm(getpid(), "zdtm-cmd-main");
	for (i = 0; i < NTHREADS; i++)
		check_comm(ti[i].tid, ti[i].name);
	go = 1;
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		if (ti[i].err[0])
			fail("thread %d: %s", i, ti[i].err);
	}
	pass();
}
