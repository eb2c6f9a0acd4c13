/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef CRCORE_RESTORE_H
#define CRCORE_RESTORE_H

#include "cr.h"

struct file_obj;

struct shmem_obj {
	uint64_t shmid;
	uint64_t size;
	int fd;
	bool from_file;		/* a memfd: its contents came with the file */
};

struct rst_ctx {
	const struct crc_restore_opts *opts;
	struct img_dir dir;
	InventoryEntry *inv;
	NsEntry *ns;			/* ns.img, NULL when absent */
	CgroupEntry *cg;		/* cgroup.img, NULL when absent */
	int host_proc;			/* lxc-cr's /proc (O_PATH), for the tasks */
	struct pstree_item **items;	/* parents before children */
	struct pstree_item *ct;		/* the container's root below the tree's (ns.img ct_pid) */
	unsigned nr_items;
	struct file_obj *files;
	unsigned nr_files;
	int max_target_fd;		/* highest fd number any task uses */
	int svc_base;			/* service fds live at and above this */
	int svc_next;
	int err_fd;			/* write end of the restorer's error pipe */
	struct rst_shared *shared;	/* futex area shared by every restored task */
	struct shmem_obj *shmems;
	unsigned nr_shmems;
	struct crc_stats *stats;
	FileLockEntry **locks;		/* file-locks.img */
	unsigned nr_locks;
};

/* Move fd to the service range; returns the new fd or -errno. */
int rst_svc_fd(struct rst_ctx *ctx, int fd);

#endif
