/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroups of the tree: where each task is, and the tree's own cgroups. */
#ifndef CRCORE_NS_CGROUP_H
#define CRCORE_NS_CGROUP_H

#include "cr.h"

struct rst_ctx;
struct pstree_item;

/* Dump: write cgroup.img (the tree is seized). */
int cgroup_dump(struct dump_ctx *ctx);

/* Restore: read and check cgroup.img (absent: stay in lxc-cr's cgroups). */
int cgroup_read(struct rst_ctx *ctx);
/* Restore, before any task exists: create the own cgroups, write their limits. */
int cgroup_prepare(struct rst_ctx *ctx);
/* Restore, in the task itself, before its children: join its cgroups. */
int cgroup_enter(struct rst_ctx *ctx, struct pstree_item *item);
/* Restore: remove the cgroups cgroup_prepare created (failed: true) and forget them. */
void cgroup_fini(struct rst_ctx *ctx, bool failed);

#endif
