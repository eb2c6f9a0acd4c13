/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The network namespace: links, addresses, routes, sysctls (see net.c). */
#ifndef CRCORE_NS_NET_H
#define CRCORE_NS_NET_H

#include "cr.h"

struct rst_ctx;

/* Dump: read the namespace of root into e->net. */
int net_dump(pid_t root, NsEntry *e);

/*
 * Dump: set down the host ends of the external veths of the namespace of sk
 * (a connection about to be read in repair mode), once each; unlock sets
 * them up again (the tree goes on), fini forgets them (the tree is gone).
 */
int net_dump_lock(int sk);
void net_dump_unlock(void);
void net_dump_lock_fini(void);

/* Restore: check a read image. */
int net_validate(const NetnsEntry *n);
/* Restore, before any task: create and fill the tree's namespace. */
int net_restore_prepare(struct rst_ctx *ctx, NetnsEntry *n);
/* Restore, once the tree is whole: bring up the host ends created. */
int net_restore_up(void);
/* Restore: move lxc-cr's thread into the tree's namespace and back (no-ops without one). */
int net_ns_fd(void);
int net_enter(void);
int net_leave(void);
/* Restore: close the namespace; on failure delete the host links created. */
void net_restore_fini(bool failed);

#endif
