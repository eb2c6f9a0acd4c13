/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "util.h"
#include "mem/xfer.h"

#define XFER_PIECE (4u << 20)

int xfer_queue_add(struct xfer_queue *q, int src_fd, uint64_t src, uint64_t dst, uint64_t len)
{
	/* split into pieces so that threads share the work evenly */
	while (len) {
		uint64_t n = min_t(uint64_t, len, XFER_PIECE);

		if (q->nr == q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 256;
			struct xfer_job *j = xrealloc_array(q->jobs, cap, sizeof(*j));

			if (!j)
				return -ENOMEM;
			q->jobs = j;
			q->cap = cap;
		}
		q->jobs[q->nr++] = (struct xfer_job){ src, dst, n, src_fd };
		q->total += n;
		src += n;
		dst += n;
		len -= n;
	}
	return 0;
}

void xfer_queue_free(struct xfer_queue *q)
{
	free(q->jobs);
	memset(q, 0, sizeof(*q));
}

static int nr_threads(struct xfer_queue *q)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	const char *env = getenv("LXC_CR_XFER_THREADS");	/* for benchmarks */

	if (env && atoi(env) > 0)
		n = atoi(env);
	if (n < 1)
		n = 1;
	if (n > XFER_MAX_THREADS)
		n = XFER_MAX_THREADS;
	if ((uint64_t)n > q->nr)
		n = q->nr ? q->nr : 1;
	return n;
}

/* ---- dump ---- */

struct dump_run {
	struct xfer_queue *q;
	pid_t pid;
	uint8_t *dst;
	int memfd;		/* /proc/PID/mem for areas the process cannot read */
	_Atomic size_t next;
	_Atomic int err;
};

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			memset(p, 0, len);	/* past the end of a file: zeroes */
			return 0;
		}
		p += r;
		off += r;
		len -= r;
	}
	return 0;
}

static void *dump_worker(void *arg)
{
	struct dump_run *r = arg;
	size_t i;

	while (!atomic_load(&r->err) && (i = atomic_fetch_add(&r->next, 1)) < r->q->nr) {
		struct xfer_job *j = &r->q->jobs[i];
		uint8_t *dst = r->dst + j->dst;
		int ret = 0;

		/* fault the destination in with one call rather than a fault per page */
		madvise(dst, j->len, 23 /* MADV_POPULATE_WRITE */);
		if (j->src_fd >= 0) {
			ret = pread_full(j->src_fd, dst, j->len, j->src);
		} else {
			struct iovec l = { dst, j->len }, rv = { (void *)j->src, j->len };

			if (process_vm_readv(r->pid, &l, 1, &rv, 1, 0) != (ssize_t)j->len) {
				ret = pread_full(r->memfd, dst, j->len, j->src);
				if (ret)
					pr_err("pid %d: cannot read memory at 0x%llx: %s", r->pid,
					       (unsigned long long)j->src, strerror(-ret));
			}
		}
		if (ret)
			atomic_store(&r->err, ret);
	}
	return NULL;
}

int xfer_run_dump(struct xfer_queue *q, pid_t pid, uint8_t *dst_base)
{
	struct dump_run r = { .q = q, .pid = pid, .dst = dst_base, .memfd = -1 };
	pthread_t th[XFER_MAX_THREADS];
	int n = nr_threads(q), started = 0;
	char path[64];

	if (!q->nr)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	r.memfd = open(path, O_RDONLY | O_CLOEXEC);
	for (int t = 1; t < n; t++)
		if (pthread_create(&th[started], NULL, dump_worker, &r) == 0)
			started++;
	dump_worker(&r);
	for (int t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	if (r.memfd >= 0)
		close(r.memfd);
	return atomic_load(&r.err);
}

/* ---- restore ---- */

/*
 * In a task being restored we are a clone3() child of lxc-cr that glibc does
 * not know about: helpers are bare CLONE_THREAD clones that use nothing but
 * pread and atomics, and whose exit is seen through CLONE_CHILD_CLEARTID.
 */
struct rst_run {
	struct xfer_queue *q;
	int fd;
	_Atomic size_t next;
	_Atomic int err;
};

static int rst_work(void *arg)
{
	struct rst_run *r = arg;
	size_t i;

	while (!atomic_load(&r->err) && (i = atomic_fetch_add(&r->next, 1)) < r->q->nr) {
		struct xfer_job *j = &r->q->jobs[i];
		uint64_t done = 0;

		while (done < j->len) {
			long n = syscall(SYS_pread64, r->fd, (char *)j->dst + done, j->len - done,
					 j->src + done);

			if (n <= 0) {
				atomic_store(&r->err, n < 0 ? -EIO : -ENODATA);
				break;
			}
			done += n;
		}
	}
	return 0;
}

int xfer_run_restore(struct xfer_queue *q, int fd)
{
	struct rst_run r = { .q = q, .fd = fd };
	int n = nr_threads(q);
	struct {
		_Atomic pid_t ctid;
		pid_t tid;
		void *stack;
	} th[XFER_MAX_THREADS];
	int started = 0, ret;

	if (!q->nr)
		return 0;
	for (int t = 1; t < n; t++) {
		size_t ss = 64 * 1024;

		th[started].stack = malloc(ss);
		if (!th[started].stack)
			break;
		th[started].ctid = 1;
		th[started].tid = clone(rst_work, (char *)th[started].stack + ss,
					CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
						CLONE_THREAD | CLONE_SYSVSEM | CLONE_CHILD_CLEARTID,
					&r, NULL, NULL, (pid_t *)&th[started].ctid);
		if (th[started].tid < 0) {
			free(th[started].stack);
			break;
		}
		started++;
	}
	rst_work(&r);
	for (int t = 0; t < started; t++) {
		char path[64];
		pid_t v;

		while ((v = atomic_load(&th[t].ctid)) != 0)
			syscall(SYS_futex, &th[t].ctid, FUTEX_WAIT, v, NULL, NULL, 0);
		/* its TID may be one a restored thread needs: wait until it is released */
		snprintf(path, sizeof(path), "/proc/self/task/%d", th[t].tid);
		for (int w = 0; w < 10000 && access(path, F_OK) == 0; w++)
			sched_yield();
		free(th[t].stack);
	}
	ret = atomic_load(&r.err);
	if (ret)
		pr_err("cannot read pages back: %s", strerror(-ret));
	return ret;
}
