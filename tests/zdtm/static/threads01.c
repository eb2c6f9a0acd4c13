// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * threads01: threads blocked in futex, condition variable, mutex, semaphore,
 * barrier and a long nanosleep stay blocked across C/R and wake correctly.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

enum { T_FUTEX, T_BITSET, T_COND, T_MUTEX, T_SEM, T_BARRIER, T_SLEEP, NT };
static const char *names[NT] = { "futex", "futex-bitset", "cond", "mutex", "sem", "barrier", "nanosleep" };

static pthread_t th[NT];
static pid_t tids[NT];
static volatile int started[NT], done[NT];
static char errs[NT][160];

static volatile uint32_t fword = 0, bword = 0;
static pthread_mutex_t cmutex = PTHREAD_MUTEX_INITIALIZER, lmutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int cond_value;
static sem_t sem;
static pthread_barrier_t barrier;

static long futex(volatile uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts,
		  uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, val3);
}

static void on_usr1(int sig)
{
}

static void *thread_fn(void *arg)
{
	int k = (int)(long)arg;
	struct timespec ts, rem;

	tids[k] = gettid();
	started[k] = 1;
	switch (k) {
	case T_FUTEX:
		while (fword == 0)
			futex(&fword, FUTEX_WAIT_PRIVATE, 0, NULL, 0);
		if (fword != 0x5a5a)
			snprintf(errs[k], sizeof(errs[k]), "futex word 0x%x", fword);
		break;
	case T_BITSET:
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 3600;
		while (bword == 0) {
			if (futex(&bword, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, 0x10) < 0 && errno == ETIMEDOUT) {
				snprintf(errs[k], sizeof(errs[k]), "bitset wait timed out");
				break;
			}
		}
		break;
	case T_COND:
		pthread_mutex_lock(&cmutex);
		while (!cond_value)
			pthread_cond_wait(&cond, &cmutex);
		if (cond_value != 77)
			snprintf(errs[k], sizeof(errs[k]), "cond value %d", cond_value);
		pthread_mutex_unlock(&cmutex);
		break;
	case T_MUTEX:
		if (pthread_mutex_lock(&lmutex))
			snprintf(errs[k], sizeof(errs[k]), "mutex lock failed");
		else
			pthread_mutex_unlock(&lmutex);
		break;
	case T_SEM:
		while (sem_wait(&sem) < 0 && errno == EINTR)
			;
		break;
	case T_BARRIER: {
		int r = pthread_barrier_wait(&barrier);

		if (r && r != PTHREAD_BARRIER_SERIAL_THREAD)
			snprintf(errs[k], sizeof(errs[k]), "barrier wait %d", r);
		break;
	}
	case T_SLEEP:
		ts.tv_sec = 3600;
		ts.tv_nsec = 0;
		if (nanosleep(&ts, &rem) == 0)
			snprintf(errs[k], sizeof(errs[k]), "slept the whole hour?");
		else if (errno != EINTR)
			snprintf(errs[k], sizeof(errs[k]), "nanosleep: %s", strerror(errno));
		else if (rem.tv_sec < 3500 || rem.tv_sec > 3600)
			snprintf(errs[k], sizeof(errs[k]), "remaining %ld s, expected ~3600", (long)rem.tv_sec);
		break;
	}
	done[k] = 1;
	return NULL;
}

static char task_state(pid_t tid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if (test_read_file(path, buf, sizeof(buf)) <= 0)
		return '?';
	p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : '?';
}

static void wait_blocked(void)
{
	int k, tries;

	for (k = 0; k < NT; k++) {
		for (tries = 0; tries < 500; tries++) {
			if (started[k] && task_state(tids[k]) == 'S')
				break;
			test_msleep(2);
		}
		if (tries == 500)
			fail("%s thread did not block", names[k]);
	}
	test_msleep(20);
}

static void wait_done(int k)
{
	int i;

	for (i = 0; i < 400 && !done[k]; i++)
		test_msleep(5);
	if (!done[k])
		fail("%s thread did not wake up", names[k]);
	pthread_join(th[k], NULL);
	if (errs[k][0])
		fail("%s thread: %s", names[k], errs[k]);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	int k;

	test_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sem_init(&sem, 0, 0);
	pthread_barrier_init(&barrier, NULL, 2);
	pthread_mutex_lock(&lmutex);

	for (k = 0; k < NT; k++)
		if (pthread_create(&th[k], NULL, thread_fn, (void *)(long)k))
			fail("pthread_create");
	wait_blocked();

	test_daemon();
	test_waitsig();

	for (k = 0; k < NT; k++)
		if (done[k])
			fail("%s thread finished without being woken", names[k]);
	wait_blocked();

	fword = 0x5a5a;
	futex(&fword, FUTEX_WAKE_PRIVATE, 1, NULL, 0);
	wait_done(T_FUTEX);

	bword = 1;
	futex(&bword, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, 0x10);
	wait_done(T_BITSET);

	pthread_mutex_lock(&cmutex);
	cond_value = 77;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&cmutex);
	wait_done(T_COND);

	pthread_mutex_unlock(&lmutex);
	wait_done(T_MUTEX);

	sem_post(&sem);
	wait_done(T_SEM);

	pthread_barrier_wait(&barrier);
	wait_done(T_BARRIER);

	pthread_kill(th[T_SLEEP], SIGUSR1);
	wait_done(T_SLEEP);
	pass();
}
