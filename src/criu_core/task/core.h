/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A task's own state: registers, signals, timers, credentials, limits, prctl. */
#ifndef CRCORE_TASK_CORE_H
#define CRCORE_TASK_CORE_H

#include "cr.h"

struct rst_ctx;
struct restorer_args;
struct rst_creds;

uint32_t xsave_size(void);
int dump_task_core(struct dump_ctx *ctx, struct pstree_item *item, ProcessCore **out);
int dump_thread_core(struct dump_ctx *ctx, struct pstree_item *item, unsigned idx, ThreadCore **out);
int validate_task_core(struct pstree_item *item, ProcessCore *pc, ThreadCore **tcs);

/* Restore, in the task, before the restorer: what plain syscalls can set. */
int restore_task_early(struct rst_ctx *ctx, struct pstree_item *item);
/* Restore, in the task, last privileged step before the restorer. */
int restore_task_creds(struct rst_ctx *ctx, struct pstree_item *item);
/* In the task: what the restorer's thread sets as its last step. */
void restore_fill_creds(struct pstree_item *item, ThreadCore *tc, struct rst_creds *out);
/* From the tracer once the restorer trapped: registers and masks of a thread. */
int restore_thread_regs(pid_t tid, ThreadCore *tc);

#endif
