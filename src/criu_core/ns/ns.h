/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Namespaces of the tree: which ones it has of its own, and what they hold. */
#ifndef CRCORE_NS_NS_H
#define CRCORE_NS_NS_H

#include "cr.h"

#define NS_MAX_DATA (48u << 20)		/* all IPC contents and messages: one record */
#define NS_MAX_PID_LEVELS 32	/* the kernel's MAX_PID_NS_LEVEL */

struct rst_ctx;

/* Dump: check every task's namespaces, learn the tree's own PIDs. */
int ns_dump_check(struct dump_ctx *ctx);
/* Dump: write ns.img (UTS names, SysV IPC objects). */
int ns_dump(struct dump_ctx *ctx);
/* Dump: the PID the tree knows for a host PID (itself without a PID
 * namespace of its own; 0 for a process outside the tree's namespace). */
pid_t ns_vpid(pid_t host);
/* Dump: how many levels the root's PID has, seen from lxc-cr. */
unsigned ns_pid_levels(void);
/* Dump: fill pstree entry e of item i with its namespace ids and its PIDs
 * below the root's PID namespace (storage stays with ns.c). */
int ns_pstree_entry(struct dump_ctx *ctx, unsigned i, PstreeEntry *e);
/* Dump: a socket in the tree's network namespace (socket(2) semantics). */
int ns_net_socket(int domain, int type, int proto);
/* Dump: whether the tree's namespaces are those of a container below its
 * root (the tasks above it are in lxc-cr's but for their mount namespace). */
bool ns_dump_has_ct(void);
/* Dump: that container root's host PID, 0 without one. */
pid_t ns_dump_ct_pid(void);
/* Dump: whether the tree has a namespace of kind flag of its own. */
bool ns_dump_own(uint32_t flag);
/* Dump: run fn with this thread in the root's namespace NAME (CLONE_NEW* flag). */
int ns_call_in_root(const char *name, int flag, int (*fn)(void *), void *arg);
/* Dump: forget what ns_dump_check learnt. */
void ns_dump_fini(void);

/* Restore: read ns.img (absent: no namespace of its own). */
int ns_read(struct rst_ctx *ctx);
/* Restore: the clone flags of the root. */
uint64_t ns_root_flags(struct rst_ctx *ctx);
/* Restore, a tree rooted above its container: find its root (ctx->ct); keep
 * its IPC namespace and leave it; in the container root's parent, enter its
 * IPC, network and mount namespaces and go back; its clone flags besides
 * CLONE_NEWPID. */
int ns_ct_find(struct rst_ctx *ctx);
int ns_ct_hold(struct rst_ctx *ctx);
int ns_ct_enter(struct rst_ctx *ctx, int own[3]);
int ns_ct_leave(int own[3]);
uint64_t ns_ct_flags(struct rst_ctx *ctx);
/* Restore, in lxc-cr before the root is cloned: make the tree's IPC (with
 * its POSIX message queues) and time namespaces and stay in them, so that
 * descriptors opened and the root cloned next are in them. */
int ns_restore_prepare(struct rst_ctx *ctx);
int ns_user_mnt_fd(void);
/* Restore, with a user namespace of the tree's own: clone the root, init of
 * its PID namespace (0 in the root, its PID in lxc-cr, -1 with errno). */
pid_t ns_clone_root(struct rst_ctx *ctx);
/* Restore: lxc-cr into a new namespace of kind flag for the tree (the one
 * made in its user namespace when it has one); ns_restore_leave() goes back. */
int ns_unshare(struct rst_ctx *ctx, int flag);
/* Restore, in a task: an id as the tree's user namespace sees it. */
int ns_uid_inside(uint32_t uid, uint32_t *out);
int ns_gid_inside(uint32_t gid, uint32_t *out);
bool ns_setgroups_denied(void);
/* Restore, in lxc-cr: its filesystem ids (files made on the tree's
 * filesystems) or its effective uid (the tree's IPC sysctls) as the host ids
 * of the tree's root while on, back to 0 after; no-ops without a user namespace. */
int ns_fsids_root(bool on);
int ns_euid_root(bool on);
/* Restore: fn's new file made as the tree's root (in a child), its descriptor
 * handed back; a filesystem context opened in the tree's user namespace
 * (-ENOENT without one). */
int ns_as_root_fd(int (*fn)(void *), void *arg);
/* Restore: whether the caller is a task in the tree's user namespace. */
bool ns_in_tree_userns(void);
int ns_user_fsopen(const char *fstype);
/* A child of this task runs fn (after setup, in the child) and hands back
 * the descriptor fn returns, or the -errno of what failed. */
int ns_child_fd(int (*setup)(void), int (*fn)(void *), void *arg);
/* Restore: lxc-cr back in its own namespaces (after the root's clone). */
int ns_restore_leave(void);
/* Restore: the end, whatever happened. */
void ns_restore_fini(void);
/* Restore, in the root, in its new namespaces, before its children. */
int ns_restore_root(struct rst_ctx *ctx);
/* Restore: the id of a host thread up levels above its innermost one
 * (NSpid's last field is up = 0), or -errno. */
pid_t ns_proc_vpid(pid_t hpid, pid_t htid, unsigned up);
/* Restore: check and take an entry's PID levels (ns_levels, ns_tids,
 * pidns_init) into item, whose parent is set. */
int ns_pstree_read(struct pstree_item *item);
/* Both sides: every process group and session a task of a nested PID
 * namespace cannot see is its parent's (it inherits it). */
int ns_pstree_check(struct pstree_item **items, unsigned n);

/* Both sides: thread t of it as a task of viewer sees it, 0 where it
 * cannot (it is in a namespace above viewer's or beside it). */
pid_t ns_pid_seen_by(const struct pstree_item *viewer, const struct pstree_item *it, unsigned t);
/* The process or thread pid of items (ids as in items: the host's at dump,
 * the root's namespace's at restore) as viewer sees it; 0 when it cannot
 * or no item has it. */
pid_t ns_pid_for(struct pstree_item **items, unsigned n, const struct pstree_item *viewer, pid_t pid);
/* The own-namespace ids of item and of its thread t. */
static inline pid_t item_vpid(const struct pstree_item *item, unsigned t)
{
	return item->vtids ? item->vtids[t * item->nr_levels + item->nr_levels - 1] : item->threads[t];
}

/* mnt.c. Dump: record the tree's own mounts in e (tmpfs contents in their images). */
int mnt_dump(struct dump_ctx *ctx, pid_t root, NsEntry *e);
/* Restore: validate the mounts of ns.img. */
int mnt_check(NsEntry *e);
/* Restore, before any task: build the tree's mount namespace in a helper
 * (pivoted into its root filesystem when it has one) and keep it. */
int mnt_restore_prepare(struct rst_ctx *ctx);
/* Restore: move lxc-cr into the tree's mount namespace (files are opened and
 * the root is cloned there) and back into its own; no-ops without one. */
int mnt_enter(void);
/* Restore, after the cgroups: detached copies of the host directories that
 * the root task binds (on proc or sysfs). */
int mnt_restore_sources(struct rst_ctx *ctx);
int mnt_leave(void);
/* Restore, in the root, in its new PID and network namespaces: proc, sysfs
 * and the mounts on them. */
int mnt_restore_late(struct rst_ctx *ctx);
/* Restore: go back to lxc-cr's mount namespace and drop the tree's. */
void mnt_restore_fini(void);

/* Restore: the tree's mount namespace (mnt_restore_prepare()), or -1. */
int mnt_ns_fd(void);
/* Restore, in mnt_outer.c's helper: mount i of ns.img's outer_mnts. */
int mnt_mount_outer(struct rst_ctx *ctx, size_t i);

/* mnt_outer.c: the mount namespace of the tasks above a tree's container.
 * Dump: the controller's (pid) own mounts and its propagation into e. */
int mnt_outer_dump(struct dump_ctx *ctx, pid_t pid, NsEntry *e);
void mnt_outer_dump_fini(void);
/* Dump: a container's mount of a superblock mounted at root "/" (or above
 * root) in the controller's own: the path to bind it from there, or NULL. */
char *mnt_outer_source(dev_t dev, const char *root);
/* Restore: validate outer_mnts; build the namespace before any task (a copy
 * of lxc-cr's with them), enter it and leave it, its descriptor, the end. */
int mnt_outer_check(NsEntry *e);
int mnt_outer_prepare(struct rst_ctx *ctx);
int mnt_outer_enter(void);
int mnt_outer_leave(void);
int mnt_outer_fd(void);
void mnt_outer_fini(void);

/* mnt.c: a mount as mountinfo shows it (for fuse.c). */
struct mnt_info {
	unsigned id, parent;
	dev_t dev;
	const char *root, *mnt, *fstype, *super;
};
/* Restore, in the tree's mount namespace: make mount m (fuse.c's held binds). */
int mnt_restore_one(struct rst_ctx *ctx, const MntEntry *m);

/* fuse.c: FUSE mounts and their servers' /dev/fuse (fuse_fd_ops). */
bool fuse_fstype(const char *type);
/* --external mnt[MOUNTPOINT] (dump) or mnt[MOUNTPOINT]:PATH (restore): the
 * length of MOUNTPOINT (0: not such a key), *path set to PATH or NULL. */
size_t fuse_ext_key(const char *s, const char **path);
/* Dump, from mnt_dump() for each mount of the tree's own: 1 if it is a FUSE
 * superblock's mount (recorded by fuse.c), 2 if it was declared external (a
 * bind, its source given at restore), 0 otherwise, or -errno. */
int fuse_dump_mount(struct dump_ctx *ctx, pid_t root, const struct mnt_info *mi);
/* Dump, before a descriptor is stat()ed: refuse a file of a FUSE fs. */
int fuse_dump_check_file(pid_t pid, int fd, int mnt_id);
/* Dump, likewise for a file reached through a /proc path (map, cwd, exe). */
int fuse_dump_check_path(pid_t pid, const char *procpath);
/* Dump, once the tree is stopped: 1 if a /dev/fuse of pid has requests
 * queued that its (stopped) server has not read yet, 0 if not. */
int fuse_requests_queued(pid_t pid);
/* Dump, after ns_dump(): refuse unpaired /dev/fuse files, write the records. */
int fuse_dump_finish(struct dump_ctx *ctx);
void fuse_dump_fini(void);
/* Restore: read fuse-mnt.img (after ns.img, before the files). */
int fuse_restore_read(struct rst_ctx *ctx);
/* Restore, in lxc-cr before the mount helpers fork: a /dev/fuse per mount,
 * a detached copy of each external mount's source. */
int fuse_restore_prepare(struct rst_ctx *ctx);
/* Restore, in the mount helper: mount m's FUSE superblock on target and
 * answer its FUSE_INIT. */
int fuse_mount(struct rst_ctx *ctx, const MntEntry *m, const char *target);
/* Restore: whether m is a bind held until the tree runs. */
bool fuse_mnt_held(const MntEntry *m);
/* Restore: the detached copy of an external mount's source (--external
 * mnt[MOUNTPOINT]:PATH) to move onto m's mountpoint, or -1. */
int fuse_ext_tree(const MntEntry *m);
/* Restore, after the release: make the held binds. */
int fuse_restore_binds(struct rst_ctx *ctx);
void fuse_restore_fini(void);

/* mqueue.c. Dump, in the tree's IPC namespace: its POSIX message queues. */
int mqueue_dump_ns(NsEntry *e, size_t *total);
/* Restore: validate the queues of ns.img. */
int mqueue_validate(NsEntry *e);
/* Restore, in the tree's new IPC namespace: re-create its queues. */
int mqueue_restore_ns(NsEntry *e);

#endif
