/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Page transfer: a queue of copies (process memory or a file to an image
 * mapping at dump; an image file to memory at restore) run by several
 * threads, one per CPU up to XFER_MAX_THREADS: on this kernel a single
 * thread is bound by page allocation in the destination, not by memcpy.
 */
#ifndef CRCORE_MEM_XFER_H
#define CRCORE_MEM_XFER_H

#include <stdint.h>
#include <sys/types.h>

#define XFER_MAX_THREADS 4

struct xfer_job {
	uint64_t src;		/* address in the process, or offset in src_fd */
	uint64_t dst;		/* offset in the destination, or address */
	uint64_t len;
	int src_fd;		/* -1: the memory of the process */
};

struct xfer_queue {
	struct xfer_job *jobs;
	size_t nr, cap;
	uint64_t total;
};

int xfer_queue_add(struct xfer_queue *q, int src_fd, uint64_t src, uint64_t dst, uint64_t len);
void xfer_queue_free(struct xfer_queue *q);
/* Dump: copy every job into dst_base + job.dst (a mapping of the pages image). */
int xfer_run_dump(struct xfer_queue *q, pid_t pid, uint8_t *dst_base);
/* Restore, inside a task being restored: pread every job from fd into job.dst. */
int xfer_run_restore(struct xfer_queue *q, int fd);

#endif
