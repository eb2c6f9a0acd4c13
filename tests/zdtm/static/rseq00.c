// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rseq00: the rseq areas glibc registered (per thread) are still registered
 * with the kernel after restore: re-registering with the same arguments gives
 * EBUSY, and the kernel keeps cpu_id current when the thread migrates.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

struct tstate {
	struct rseq *area;
	volatile int ready;
	char err[200];
};
static struct tstate ts[2];
static unsigned int reg_len;
static int cpus[2], ncpus;
static volatile int release;

static struct rseq *my_area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

static int busy_with(unsigned int len)
{
	return syscall(SYS_rseq, my_area(), len, 0, RSEQ_SIG) < 0 && errno == EBUSY;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int check(struct tstate *s)
{
	struct rseq *r = my_area();
	int i;

	if (r != s->area)
		return snprintf(s->err, sizeof(s->err), "rseq area moved %p -> %p", (void *)s->area,
				(void *)r);
	errno = 0;
	if (!busy_with(reg_len))
		return snprintf(s->err, sizeof(s->err),
				"rseq area not registered (re-register gave %s)", strerror(errno));
	for (i = 0; i < ncpus; i++) {
		unsigned int cpu = ~0u;

		if (pin(cpus[i]))
			return snprintf(s->err, sizeof(s->err), "sched_setaffinity(%d)", cpus[i]);
		syscall(SYS_getcpu, &cpu, NULL, NULL);
		if ((int)cpu != cpus[i])
			return snprintf(s->err, sizeof(s->err), "getcpu %u after pinning to %d", cpu, cpus[i]);
		if ((int)r->cpu_id != cpus[i] || (int)r->cpu_id_start != cpus[i])
			return snprintf(s->err, sizeof(s->err), "rseq cpu_id %d/%d, expected %d",
					(int)r->cpu_id, (int)r->cpu_id_start, cpus[i]);
	}
	return 0;
}

static void *thread_fn(void *arg)
{
	struct tstate *s = arg;

	s->area = my_area();
	if (check(s))
		fail("thread before C/R: %s", s->err);
	s->ready = 1;
	while (!test_sigterm_received())
		test_msleep(10);
	check(s);
	s->ready = 2;
	while (!release)
		test_msleep(5);
	return NULL;
}

int main(int argc, char **argv)
{
	cpu_set_t set;
	pthread_t th;
	int i;

	test_init(argc, argv);
	if (__rseq_size == 0)
		skip("glibc did not register rseq (tunable glibc.pthread.rseq=0?)");
	/* glibc 2.36 registers 32 bytes; later versions report the feature size. */
	if (busy_with(sizeof(struct rseq)))
		reg_len = sizeof(struct rseq);
	else if (busy_with(__rseq_size))
		reg_len = __rseq_size;
	else
		fail("cannot find glibc's rseq registration length (%s)", strerror(errno));

	if (sched_getaffinity(0, sizeof(set), &set))
		fail("sched_getaffinity");
	for (i = 0; i < CPU_SETSIZE && ncpus < 2; i++)
		if (CPU_ISSET(i, &set))
			cpus[ncpus++] = i;

	ts[0].area = my_area();
	if (check(&ts[0]))
		fail("before C/R: %s", ts[0].err);
	if (pthread_create(&th, NULL, thread_fn, &ts[1]))
		fail("pthread_create");
	while (!ts[1].ready)
		test_msleep(2);

	test_daemon();
	test_waitsig();

	if (check(&ts[0]))
		fail("main thread: %s", ts[0].err);
	while (ts[1].ready != 2)
		test_msleep(2);
	if (ts[1].err[0])
		fail("thread: %s", ts[1].err);
	release = 1;
	pthread_join(th, NULL);
	pass();
}
