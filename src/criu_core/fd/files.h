/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Descriptors. Each kind of file is one file in fd/ owning both sides; this
 * layer finds the kind of every descriptor, gives each open file one id (fds
 * that share an open file description share the id), and on restore opens
 * every object once in the restoring process before the tree is forked, so
 * that each task only dup2()s what it inherited into place.
 */
#ifndef CRCORE_FD_FILES_H
#define CRCORE_FD_FILES_H

#include <limits.h>
#include <sys/stat.h>

#include "cr.h"

struct fd_parms {
	struct pstree_item *item;
	pid_t pid;
	int fd;			/* -1 for a file reached otherwise (map, cwd, exe) */
	char path[64];		/* /proc/PID/fd/N or map_files path */
	struct stat st;
	char link[PATH_MAX];
	uint32_t flags;		/* file status flags, without O_CLOEXEC */
	uint32_t fd_flags;	/* FD_CLOEXEC */
	uint64_t pos;
	int mnt_id;
	char *fdinfo;
};

struct rst_ctx;
struct file_obj;

struct fdtype_ops {
	FdTypes type;
	const char *name;
	enum img_type img;
	const ProtobufCMessageDescriptor *desc;
	/* dump */
	bool (*match)(const struct fd_parms *p);
	int (*dump)(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id);
	/* restore: every kind's record has "required uint32 id = 1" (read through
	 * desc); open it in the restorer (returns an fd); then, optionally, finish
	 * it in the task once every fd is at its number. */
	int (*validate)(struct rst_ctx *ctx, struct file_obj *f);
	int (*open)(struct rst_ctx *ctx, struct file_obj *f);
	int (*post_open)(struct rst_ctx *ctx, struct pstree_item *item, FdEntry *fe, struct file_obj *f);
	/* optional: let go of what open kept besides f->fd (priv is freed after) */
	void (*release)(struct file_obj *f);
	/* optional (fd/inherit.c): the key --inherit-fd names this object by;
	 * returns 1 if it was external at dump (it must be inherited), 0 if it
	 * may be, -ENOENT if it has none. Then how the object is made from the
	 * caller's descriptor fd (default: a dup of it) instead of open. */
	int (*key)(const struct file_obj *f, char *buf, size_t len);
	int (*inherit)(struct rst_ctx *ctx, struct file_obj *f, int fd);
};

struct file_obj {
	const struct fdtype_ops *ops;
	uint32_t id;
	void *msg;
	int fd;			/* in the restoring process; -1 until opened */
	int inherit;		/* --inherit-fd: the caller's fd used instead, or -1 */
	void *priv;
};

extern const struct fdtype_ops reg_fd_ops;
extern const struct fdtype_ops pipe_fd_ops;
extern const struct fdtype_ops fifo_fd_ops;
extern const struct fdtype_ops tty_fd_ops;

/* File locks (fd/locks.c): saved per descriptor, taken again in the owning task. */
int locks_dump_fd(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id);
void locks_dump_fini(void);
int locks_collect(struct rst_ctx *ctx);
int locks_restore_task(struct rst_ctx *ctx, struct pstree_item *item);
void locks_free(struct rst_ctx *ctx);

/* Terminals (fd/tty.c): the controlling terminal of a restored session leader,
 * taken right after setsid(), and the foreground group, set once the task joined it. */
void tty_dump_fini(void);
/* --external at dump: every key must be tty[RDEV:DEV]. */
int tty_dump_check_externals(const struct crc_dump_opts *o);
int tty_restore_ctty(struct rst_ctx *ctx, struct pstree_item *item);
int tty_restore_pgrp(struct rst_ctx *ctx, struct pstree_item *item);
extern const struct fdtype_ops eventfd_fd_ops;
extern const struct fdtype_ops epoll_fd_ops;
extern const struct fdtype_ops signalfd_fd_ops;
extern const struct fdtype_ops timerfd_fd_ops;
extern const struct fdtype_ops inotify_fd_ops;
extern const struct fdtype_ops pidfd_fd_ops;
extern const struct fdtype_ops mqueue_fd_ops;
extern const struct fdtype_ops fuse_fd_ops;
extern const struct fdtype_ops memfd_fd_ops;
extern const struct fdtype_ops inet_fd_ops;
extern const struct fdtype_ops unix_fd_ops;

/* dump */
int fd_parms_fill(struct fd_parms *p, struct pstree_item *item, int fd);
void fd_parms_release(struct fd_parms *p);
int dump_task_files(struct dump_ctx *ctx, struct pstree_item *item, ProcessCore *core);
/* A file reached through a path under /proc (mapping, cwd, root, exe). */
int dump_file_by_path(struct dump_ctx *ctx, struct pstree_item *item, const char *procpath,
		      uint32_t flags, uint32_t *id);
/* The tree goes on (dump failed, or --leave-running): undo what would stop it. */
void files_dump_resume(void);
/* End of a dump, after the tree was killed or released. */
void files_dump_fini(void);
/* The file id of fd in item, dumping the file now if it was not seen yet. */
int dump_fd_file(struct dump_ctx *ctx, struct pstree_item *item, int fd, uint32_t *type,
		 uint32_t *id, uint32_t *fd_flags);
/* The dumped file that epoll epfd of pid watches as tfd, or -ENOENT. */
int dumped_file_find_epoll_target(pid_t pid, int epfd, int tfd, uint32_t *type, uint32_t *id);
void memfd_dump_fini(void);
/* fd/inet.c: connections held in repair mode by the dumper. */
void inet_dump_resume(void);
void inet_dump_fini(void);
/* A new file id, for objects no descriptor refers to (a connection in a backlog). */
uint32_t file_new_id(void);
/*
 * Dump a file the dumper holds a descriptor to (one in flight in a socket
 * queue, copied out with MSG_PEEK): takes fd over and keeps it open until the
 * dump ends, so that later descriptors of the same file are recognised.
 */
int dump_local_file(struct dump_ctx *ctx, struct pstree_item *item, int fd, uint32_t *type,
		    uint32_t *id);
void unix_dump_fini(void);
/* After every task: what can only be checked once everything was seen. */
int files_dump_finish(struct dump_ctx *ctx);
int unix_dump_finish(void);
bool unix_ext_key(const char *key, uint64_t *ino);

/* restore */
/* Restore: lxc-cr's /proc (a descriptor), for reopen_fd(). */
void files_set_proc(int procfd);
/* A new open file on what fd refers to (/proc/self/fd/N, lxc-cr's /proc). */
int reopen_fd(int fd, int flags);
int files_collect(struct rst_ctx *ctx);
/* fd/inherit.c: match the caller's --inherit-fd descriptors to objects by key
 * (before anything exists; a key an external object needs must be given),
 * and make an inherited object from its descriptor. */
int inherit_collect(struct rst_ctx *ctx);
int inherit_open(struct rst_ctx *ctx, struct file_obj *f);
/* A key for a path (CRIU spells it without the leading '/'). */
int inherit_path_key(const char *path, char *buf, size_t len);
struct file_obj *file_find(struct rst_ctx *ctx, uint32_t type, uint32_t id);
/* The file a mapping, cwd, root or exe refers to: a regular file or a memfd. */
struct file_obj *file_find_mapped(struct rst_ctx *ctx, uint32_t id);
/* Open one object now (if not yet) in the restoring process. */
int file_open_obj(struct rst_ctx *ctx, struct file_obj *f);
/* F_SETFL with the settable part of saved file status flags. */
int file_set_flags(int fd, uint32_t flags);
/* A memfd's object for shared memory shmid (its inode): an O_RDWR fd, or -ENOENT. */
int memfd_shmem_fd(struct rst_ctx *ctx, uint64_t shmid);
/* Open every object the tree needs, then lift them above all target fd numbers. */
int files_open_all(struct rst_ctx *ctx);
/* The same for the tasks of subtree sub (inside) or the others (a tree with
 * its container below the root: each part opens its own in its namespaces;
 * an object of both is opened by the first, the part above). */
int files_open_tasks(struct rst_ctx *ctx, const struct pstree_item *sub, bool inside);
/* While files_open_tasks() opens a part: 1 if a task of that part has object
 * f (always without a part), 0 if only tasks of the other, -1 if none. Kinds
 * that build all their objects together build those of the part. */
int files_obj_in_part(struct rst_ctx *ctx, const struct file_obj *f);
/* In a task: put its descriptors at their numbers. */
int files_restore_task(struct rst_ctx *ctx, struct pstree_item *item);
void files_free(struct rst_ctx *ctx);

#endif
