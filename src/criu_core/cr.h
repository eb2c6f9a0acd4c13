/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Engine-internal objects shared between dump, restore and the resource files. */
#ifndef CRCORE_CR_H
#define CRCORE_CR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "crcore.h"
#include "util.h"
#include "image/image.h"
#include "inventory.pb-c.h"
#include "pstree.pb-c.h"
#include "core.pb-c.h"
#include "mm.pb-c.h"
#include "fdinfo.pb-c.h"
#include "ns.pb-c.h"
#include "cgroup.pb-c.h"

enum {
	TASK_ALIVE = 1,
	TASK_ZOMBIE = 2,
	TASK_STOPPED = 3,
};

struct vma_area;

struct pstree_item {
	pid_t pid, ppid, pgid, sid;
	unsigned int nr_threads;
	pid_t *threads;
	int state;
	int exit_status;
	struct pstree_item *parent;

	/* PID namespaces (ns/ns.c): pid and threads above are ids in the root's */
	unsigned int nr_levels;			/* levels from the root's down to its own */
	pid_t *vtids;				/* per thread, nr_levels ids, the root's first */
	bool pidns_init;			/* pid 1 of a namespace nested in its parent's */

	/* dump side */
	struct user_regs_struct *regs;		/* as stopped, per thread */
	uint64_t syscall_ip;			/* a syscall instruction in the target */
	uint64_t scratch;			/* remote scratch page, 0 if none */
	struct vma_area *vmas;
	unsigned int nr_vmas;
	ProcessCore *core;
	ThreadCore **tcores;
	bool stopped_in_group;

	/* restore side */
	PstreeEntry *pe;
	ProcessCore *rcore;
	ThreadCore **rtcores;
	int nr_children;
	struct pstree_item **children;
	pid_t hpid;				/* pid seen by lxc-cr (pid above is the tree's) */
	pid_t *hthreads;			/* tids seen by lxc-cr */
	void *rst;				/* restore/restore.c's per-task state */
};

struct dump_ctx {
	const struct crc_dump_opts *opts;
	struct img_dir dir;
	struct pstree_item **items;		/* parents before children */
	unsigned int nr_items;
	struct crc_stats *stats;
	uint64_t xsave_size;
	/* open per-kind images, created lazily */
	struct cr_img *imgs[IMG_TYPE_MAX];
};

struct pstree_item *pstree_find(struct pstree_item **items, unsigned n, pid_t pid);

/* The image of a kind, opened on first use during a dump. */
struct cr_img *dump_img(struct dump_ctx *ctx, enum img_type type);
int dump_close_imgs(struct dump_ctx *ctx);

uint64_t now_ns(void);

#endif
