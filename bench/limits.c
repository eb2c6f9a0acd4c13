// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * limits: what this machine can do at best, for judging dump/restore speed.
 *
 * Usage: limits [-s SIZE_MB] [-r RUNS] [-d TMPFS_DIR]
 *   (defaults: 1024 MiB, 5 runs, /dev/shm)
 *
 * Prints the median of RUNS for:
 *   memcpy warm          memcpy between two already-touched buffers
 *   memcpy fresh         memcpy into never-touched anonymous pages (page faults
 *                        included; the bound for a restore that fills new memory)
 *   tmpfs write          write() of SIZE to a new file on TMPFS_DIR, 4 MiB chunks
 *   tmpfs read fresh     read() of that file into never-touched anonymous pages
 *   process_vm_readv     from a child's touched memory into a touched buffer
 *                        (the bound for a dump that copies memory out)
 * All buffers use 4 KiB pages (MADV_NOHUGEPAGE), like bench/memhog.
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
#include <sys/uio.h>
#include <sys/wait.h>

#define CHUNK (4ul << 20)
#define MAX_RUNS 101

static size_t size;
static int runs = 5;
static const char *dir = "/dev/shm";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *map_fresh(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

static void *map_touched(size_t len, int byte)
{
	void *p = map_fresh(len);

	memset(p, byte, len);
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void report(const char *name, double *secs, int n)
{
	double gbs[MAX_RUNS];

	for (int i = 0; i < n; i++)
		gbs[i] = size / secs[i] / 1e9;
	qsort(gbs, n, sizeof(gbs[0]), cmp_double);
	printf("%-20s %7.2f GB/s   (min %.2f, max %.2f, %d runs of %zu MiB)\n", name, gbs[n / 2],
	       gbs[0], gbs[n - 1], n, size >> 20);
	fflush(stdout);
}

static void bench_memcpy_warm(void)
{
	char *src = map_touched(size, 0x5a), *dst = map_touched(size, 0);
	double t[MAX_RUNS];

	for (int i = 0; i < runs; i++) {
		double t0 = now();

		memcpy(dst, src, size);
		t[i] = now() - t0;
	}
	report("memcpy warm", t, runs);
	munmap(src, size);
	munmap(dst, size);
}

static void bench_memcpy_fresh(void)
{
	char *src = map_touched(size, 0x5a);
	double t[MAX_RUNS];

	for (int i = 0; i < runs; i++) {
		char *dst = map_fresh(size);
		double t0 = now();

		memcpy(dst, src, size);
		t[i] = now() - t0;
		munmap(dst, size);
	}
	report("memcpy fresh", t, runs);
	munmap(src, size);
}

static void bench_tmpfs(void)
{
	char *src = map_touched(size, 0x5a);
	double tw[MAX_RUNS], tr[MAX_RUNS];
	char path[4096];

	snprintf(path, sizeof(path), "%s/lxc-cr-limits.%d", dir, getpid());
	for (int i = 0; i < runs; i++) {
		char *dst;
		double t0;
		int fd;

		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			perror(path);
			exit(1);
		}
		t0 = now();
		for (size_t off = 0; off < size;) {
			ssize_t n = write(fd, src + off, size - off < CHUNK ? size - off : CHUNK);

			if (n <= 0) {
				perror("write");
				unlink(path);
				exit(1);
			}
			off += n;
		}
		tw[i] = now() - t0;

		dst = map_fresh(size);
		lseek(fd, 0, SEEK_SET);
		t0 = now();
		for (size_t off = 0; off < size;) {
			ssize_t n = read(fd, dst + off, size - off < CHUNK ? size - off : CHUNK);

			if (n <= 0) {
				perror("read");
				unlink(path);
				exit(1);
			}
			off += n;
		}
		tr[i] = now() - t0;
		munmap(dst, size);
		close(fd);
		unlink(path);
	}
	report("tmpfs write", tw, runs);
	report("tmpfs read fresh", tr, runs);
	munmap(src, size);
}

static void bench_process_vm_readv(void)
{
	char *remote = map_touched(size, 0x5a); /* the child inherits it, COW-shared */
	char *dst;
	double t[MAX_RUNS];
	int ready[2];
	pid_t child;
	char c;

	if (pipe(ready)) {
		perror("pipe");
		exit(1);
	}
	child = fork();
	if (child < 0) {
		perror("fork");
		exit(1);
	}
	if (child == 0) {
		/* Own private copy of every page, like a real target. */
		for (size_t off = 0; off < size; off += 4096)
			remote[off] = 0x33;
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		fprintf(stderr, "child failed\n");
		exit(1);
	}
	dst = map_touched(size, 0);

	for (int i = 0; i < runs; i++) {
		double t0 = now();

		for (size_t off = 0; off < size;) {
			struct iovec l = { dst + off, size - off }, r = { remote + off, size - off };
			ssize_t n = process_vm_readv(child, &l, 1, &r, 1, 0);

			if (n <= 0) {
				perror("process_vm_readv");
				kill(child, SIGKILL);
				exit(1);
			}
			off += n;
		}
		t[i] = now() - t0;
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (dst[0] != 0x33)
		fprintf(stderr, "process_vm_readv read the wrong data\n");
	report("process_vm_readv", t, runs);
	munmap(dst, size);
	munmap(remote, size);
}

int main(int argc, char **argv)
{
	size_t mb = 1024;
	int opt;

	while ((opt = getopt(argc, argv, "s:r:d:")) != -1) {
		switch (opt) {
		case 's': mb = strtoull(optarg, NULL, 0); break;
		case 'r': runs = atoi(optarg); break;
		case 'd': dir = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-s SIZE_MB] [-r RUNS] [-d TMPFS_DIR]\n", argv[0]);
			return 2;
		}
	}
	if (!mb || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "bad size or run count\n");
		return 2;
	}
	size = mb << 20;

	bench_memcpy_warm();
	bench_memcpy_fresh();
	bench_tmpfs();
	bench_process_vm_readv();
	return 0;
}
