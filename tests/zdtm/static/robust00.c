// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * robust00: the robust futex list head and length of the main thread and of
 * other threads are restored (one thread keeps glibc's own list, the main
 * thread and another thread register lists of their own).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

struct rinfo {
	void *head;
	size_t len;
	pid_t tid;
	volatile int ready;
	char err[200];
};

static struct rinfo ri[3]; /* 0: main, 1: own list thread, 2: glibc's list thread */
static struct robust_list_head heads[2];
static volatile int go;

static int get_robust(pid_t tid, void **head, size_t *len)
{
	return syscall(SYS_get_robust_list, tid, head, len);
}

static void check(struct rinfo *r, const char *who)
{
	void *h = NULL;
	size_t l = 0;

	if (get_robust(0, &h, &l))
		snprintf(r->err, sizeof(r->err), "%s: get_robust_list failed", who);
	else if (h != r->head || l != r->len)
		snprintf(r->err, sizeof(r->err), "%s: head %p len %zu, expected %p len %zu", who, h, l,
			 r->head, r->len);
}

static void *thread_fn(void *arg)
{
	struct rinfo *r = arg;

	r->tid = gettid();
	if (r == &ri[1]) {
		heads[1].list.next = &heads[1].list;
		heads[1].futex_offset = -24;
		if (syscall(SYS_set_robust_list, &heads[1], sizeof(heads[1])))
			fail("set_robust_list (thread)");
	}
	if (get_robust(0, &r->head, &r->len))
		fail("get_robust_list (thread)");
	if (r->head == NULL || r->len != sizeof(struct robust_list_head))
		fail("thread robust list %p/%zu", r->head, r->len);
	r->ready = 1;
	while (!go)
		test_msleep(5);
	check(r, r == &ri[1] ? "own-list thread" : "glibc-list thread");
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[2];
	void *h;
	size_t l;
	int i;

	test_init(argc, argv);
	heads[0].list.next = &heads[0].list;
	heads[0].futex_offset = 40;
	heads[0].list_op_pending = NULL;
	if (syscall(SYS_set_robust_list, &heads[0], sizeof(heads[0])))
		fail("set_robust_list");
	ri[0].head = &heads[0];
	ri[0].len = sizeof(heads[0]);
	ri[0].tid = gettid();
	for (i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, thread_fn, &ri[i + 1]))
			fail("pthread_create");
	while (!ri[1].ready || !ri[2].ready)
		test_msleep(2);
	if (ri[1].head != &heads[1] || ri[2].head == &heads[0] || ri[2].head == &heads[1])
		fail("setup: heads %p %p", ri[1].head, ri[2].head);

	test_daemon();
	test_waitsig();

	check(&ri[0], "main thread");
	if (ri[0].err[0])
		fail("%s", ri[0].err);
	/* As seen from the main thread, by TID. */
	for (i = 1; i < 3; i++) {
		h = NULL;
		l = 0;
		if (get_robust(ri[i].tid, &h, &l))
			fail("get_robust_list(%d)", ri[i].tid);
		if (h != ri[i].head || l != ri[i].len)
			fail("thread %d by tid: head %p len %zu, expected %p len %zu", i, h, l, ri[i].head,
			     ri[i].len);
	}
	go = 1;
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		if (ri[i + 1].err[0])
			fail("%s", ri[i + 1].err);
	}
	pass();
}
