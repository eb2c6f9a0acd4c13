// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * memhog: benchmark workload for checkpoint/restore.
 *
 * Usage: memhog [-p PIDFILE] [-c CHECKFILE] SIZE_MB
 *
 * Maps SIZE_MB MiB of private anonymous memory, writes deterministic,
 * non-zero, non-repeating data into every byte (so no zero-page or dedup
 * shortcut applies), writes its PID to PIDFILE, prints "READY" and then
 * sleeps forever.  On SIGUSR1 it verifies the whole area and writes "OK" or
 * "BAD <details>" to CHECKFILE (opened only for that, so no file is open
 * while it is checkpointed).  Between signals it spot-checks one page a
 * second so a broken restore also shows up as a crash-free "BAD".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#define SEED 0x6c78632d63720001ull /* "lxc-cr" */

static volatile sig_atomic_t check_requested;
static uint64_t *area;
static size_t nwords;
static const char *checkfile = "memhog.check";
static int spot_bad;

static inline uint64_t pattern(size_t i)
{
	uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull + SEED;

	x ^= x >> 29;
	return x | 1; /* never zero */
}

static void on_usr1(int sig)
{
	(void)sig;
	check_requested = 1;
}

static void write_result(const char *msg)
{
	char tmp[4096];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", checkfile);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, msg, strlen(msg)) != (ssize_t)strlen(msg)) {
		close(fd);
		return;
	}
	close(fd);
	rename(tmp, checkfile);
}

static void full_check(void)
{
	char msg[256];
	size_t i, bad = 0, first = 0;

	for (i = 0; i < nwords; i++) {
		if (area[i] != pattern(i)) {
			if (!bad)
				first = i;
			bad++;
		}
	}
	if (bad || spot_bad)
		snprintf(msg, sizeof(msg), "BAD %zu bad words, first at byte offset %zu%s\n", bad,
			 first * 8, spot_bad ? " (spot check failed earlier)" : "");
	else
		snprintf(msg, sizeof(msg), "OK %zu bytes\n", nwords * 8);
	write_result(msg);
}

int main(int argc, char **argv)
{
	const char *pidfile = NULL;
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigset_t block, old;
	size_t size_mb, bytes, words_per_page, npages, spot = 0;
	int opt;

	while ((opt = getopt(argc, argv, "p:c:")) != -1) {
		switch (opt) {
		case 'p': pidfile = optarg; break;
		case 'c': checkfile = optarg; break;
		default: goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	size_mb = strtoull(argv[optind], NULL, 0);
	if (!size_mb)
		goto usage;

	bytes = size_mb << 20;
	area = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/* Plain 4 KiB pages: what a checkpointer sees for most real workloads. */
	madvise(area, bytes, MADV_NOHUGEPAGE);
	nwords = bytes / 8;
	for (size_t i = 0; i < nwords; i++)
		area[i] = pattern(i);

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGUSR1, &sa, NULL);

	if (pidfile) {
		char tmp[4096];
		int fd;

		snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || dprintf(fd, "%d\n", getpid()) < 0) {
			perror(pidfile);
			return 1;
		}
		close(fd);
		if (rename(tmp, pidfile)) {
			perror(pidfile);
			return 1;
		}
	}
	printf("READY %d %zu MiB\n", getpid(), size_mb);
	fflush(stdout);

	words_per_page = 4096 / 8;
	npages = bytes / 4096;
	for (;;) {
		struct timespec ts = { .tv_sec = 1 };
		size_t base;

		/* Wake up once a second (or on SIGUSR1). */
		sigprocmask(SIG_SETMASK, &old, NULL);
		nanosleep(&ts, NULL);
		sigprocmask(SIG_BLOCK, &block, NULL);

		if (check_requested) {
			check_requested = 0;
			full_check();
			continue;
		}
		base = (spot++ % npages) * words_per_page;
		for (size_t i = base; i < base + words_per_page; i++)
			if (area[i] != pattern(i))
				spot_bad = 1;
	}

usage:
	fprintf(stderr, "usage: %s [-p PIDFILE] [-c CHECKFILE] SIZE_MB\n", argv[0]);
	return 2;
}
