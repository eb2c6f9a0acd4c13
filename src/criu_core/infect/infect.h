/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stopping a tree with ptrace and running syscalls inside a stopped thread. */
#ifndef CRCORE_INFECT_H
#define CRCORE_INFECT_H

#include <sys/types.h>
#include <sys/user.h>

#include "cr.h"

/* Collect the tree rooted at pid and stop every thread of it. */
int infect_seize_tree(pid_t root, struct pstree_item ***items, unsigned *nr);
/* Release every thread (restarting interrupted syscalls) and free the items. */
void infect_unseize_tree(struct pstree_item **items, unsigned nr);
void pstree_free(struct pstree_item **items, unsigned nr);

/* Find a syscall instruction in the process (its vDSO). */
int infect_find_syscall_ip(struct pstree_item *item);
/* Run one syscall in a stopped thread; the result is in *ret. Registers are put back. */
int infect_syscall(struct pstree_item *item, pid_t tid, long nr, long *ret,
		   long a1, long a2, long a3, long a4, long a5, long a6);
/* A scratch page in the target for syscalls that take pointers. */
int infect_scratch_get(struct pstree_item *item, pid_t tid, uint64_t *addr);
void infect_scratch_put(struct pstree_item *item, pid_t tid);

int infect_read(pid_t pid, uint64_t addr, void *buf, size_t len);
int infect_write(pid_t pid, uint64_t addr, const void *buf, size_t len);

/* Registers as the dumped process should resume them: an interrupted syscall
 * becomes a restart, or -EINTR where the kernel's restart block cannot follow. */
void infect_fixup_syscall_regs(struct user_regs_struct *regs, bool for_image);

#endif
