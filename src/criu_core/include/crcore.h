/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcrcore: checkpoint and restore of Linux process trees.
 * The only header liblxccr and the lxc-cr command include.
 */
#ifndef CRCORE_H
#define CRCORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CRC_API_VERSION 1

struct crc_dump_opts {
	pid_t pid;			/* root of the tree */
	const char *images_dir;
	bool leave_running;
	bool shell_job;
	bool tcp_established;
	bool file_locks;
	bool ext_unix_sk;
	uint64_t ghost_limit;		/* bytes of a deleted file kept in the image */
	/* Descriptors whose other end is held outside the tree, by key:
	 * "tty[RDEV:DEV]" (st_rdev and st_dev of the terminal, hex) for a pty
	 * slave whose master the caller holds. Recorded by key only; restore
	 * needs a crc_inherit_fd for each. */
	const char *const *externals;
	unsigned nr_externals;
	/* Called once the images are complete and synced, the tree still
	 * frozen (NULL: none). 0 lets the dump finish (the tree is killed, or
	 * left running); < 0 resumes the tree and fails the dump with -ECANCELED
	 * (the images stay). liblxccr writes its save file here, so that a
	 * domain never dies before its save file is complete. */
	int (*post_dump)(void *arg);
	void *post_dump_arg;
};

/* At restore: the caller's descriptor fd is used in place of every
 * descriptor of the tree recorded under key: "tty[RDEV:DEV]", "pipe:[INO]",
 * or a file's path (with or without its leading '/'). */
struct crc_inherit_fd {
	int fd;
	const char *key;
};

struct crc_restore_opts {
	const char *images_dir;
	bool detach;			/* return once the tree runs */
	bool shell_job;
	bool tcp_established;
	bool file_locks;			/* accepted for criu's sake; locks in the images are always taken */
	const char *pidfile;		/* write the root's PID here */
	const char *cgroup_root;	/* the root task's cgroup in every hierarchy; NULL: as saved */
	const char *root;		/* where the tree's root filesystem is on this host (NULL: where it was) */
	const char *const *externals;	/* "veth[INSIDE]:OUTSIDE[@BRIDGE]", "macvlan[INSIDE]:HOSTDEV" */
	unsigned nr_externals;
	const struct crc_inherit_fd *inherit_fds;
	unsigned nr_inherit_fds;
};

struct crc_stats {
	uint64_t frozen_ns;		/* dump: time the tree was stopped */
	uint64_t total_ns;
	uint64_t pages_written;
	uint64_t pages_skipped;
	uint64_t pages_restored;
};

/* Return 0 or -errno; the cause was logged, and crc_last_error() tells it in one line. */
int crc_dump(const struct crc_dump_opts *opts, struct crc_stats *stats);
/* Restores the tree; with opts->detach it returns once it runs, else waits for the root
 * and returns its exit status (>= 0). The root's PID goes to *root_pid. */
int crc_restore(const struct crc_restore_opts *opts, pid_t *root_pid, struct crc_stats *stats);
/* Kernel features: prints a line per feature to the log; returns the number missing. */
int crc_check(void);
/* Decode an image file, or every image in a directory, as JSON to fd. */
int crc_show(const char *path, int out_fd);
const char *crc_last_error(void);

int crc_log_init(const char *path, int level);
void crc_log_fini(void);

#endif
