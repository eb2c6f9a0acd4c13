// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mq-holder OUT [notify]: in an IPC namespace of its own, a POSIX message
 * queue with three messages (and, with "notify", an mq_notify() signal
 * registration); it leads its own session, writes its pid to OUT.pid and
 * waits for SIGTERM; then it checks that every message is still there in
 * order, that the registration is still its own and never fired, and
 * writes PASS or FAIL: why to OUT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t term, fired;

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	fired = 1;
}

static const struct {
	const char *text;
	unsigned prio;
} msgs[] = { { "second", 1 }, { "first", 9 }, { "third", 1 } };
static const int order[] = { 1, 0, 2 };

static int __attribute__((format(printf, 2, 3))) report(const char *out, const char *fmt, ...)
{
	FILE *f = fopen(out, "w");
	va_list ap;

	if (!f)
		return 1;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 32 };
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
	char path[4096], buf[64];
	bool notify = argc > 2 && !strcmp(argv[2], "notify");
	mqd_t q;
	pid_t pid;
	FILE *f;

	if (argc < 2)
		return 2;
	if (unshare(CLONE_NEWIPC) < 0)
		return report(argv[1], "FAIL: unshare(CLONE_NEWIPC): %s", strerror(errno)) + 1;
	signal(SIGTERM, on_term);
	signal(SIGUSR1, on_usr1);
	q = mq_open("/badinput-mq", O_RDWR | O_CREAT | O_EXCL, 0640, &a);
	if (q < 0)
		return report(argv[1], "FAIL: mq_open: %s", strerror(errno)) + 1;
	for (unsigned i = 0; i < 3; i++)
		if (mq_send(q, msgs[i].text, strlen(msgs[i].text), msgs[i].prio) < 0)
			return report(argv[1], "FAIL: mq_send: %s", strerror(errno)) + 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid > 0)
		return 0;
	setsid();
	/* here: a registration ends when its owner closes a descriptor of the queue */
	if (notify && mq_notify(q, &ev) < 0)
		return report(argv[1], "FAIL: mq_notify: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s.pid", argv[1]);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "%d\n", getpid());
	fclose(f);
	while (!term)
		pause();
	if (fired)
		return report(argv[1], "FAIL: %s", "the mq_notify() signal fired");
	for (unsigned k = 0; k < 3; k++) {
		unsigned prio;
		ssize_t r = mq_timedreceive(q, buf, sizeof(buf), &prio,
					    &(struct timespec){ 0, 0 });

		if (r < 0)
			return report(argv[1], "FAIL: a message is missing: %s", strerror(errno));
		buf[r] = '\0';
		if (strcmp(buf, msgs[order[k]].text) || prio != msgs[order[k]].prio)
			return report(argv[1], "FAIL: message out of order or changed: '%s'", buf);
	}
	/* the registration is still ours: a second one is refused */
	if (notify && (mq_notify(q, &ev) == 0 || errno != EBUSY))
		return report(argv[1], "FAIL: %s", "the mq_notify() registration is gone");
	return report(argv[1], "%s", "PASS");
}
