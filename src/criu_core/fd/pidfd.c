/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pidfd: refers to a process, which must be one of the tree. The process
 * exists only once the tree is forked, so the restoring process holds a
 * placeholder and each task opens the real pidfd in post_open.
 */
#include <fcntl.h>
#include <sys/syscall.h>

#include "fd/files.h"
#include "ns/ns.h"
#include "proc_parse.h"
#include "restore/restore.h"

static bool pidfd_match(const struct fd_parms *p)
{
	return p->fd >= 0 && !strcmp(p->link, "anon_inode:[pidfd]");
}

static int pidfd_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	PidfdEntry e = PIDFD_ENTRY__INIT;
	const char *v = proc_field(p->fdinfo, "Pid");
	struct pstree_item *t, *h;
	int pid;

	if (!v) {
		pr_err("pid %d fd %d: no Pid in the pidfd's fdinfo", p->pid, p->fd);
		return -EINVAL;
	}
	pid = atoi(v);
	if (pid <= 0) {
		pr_err("pid %d fd %d: a pidfd is not supported (its process %s)", p->pid, p->fd,
		       pid < 0 ? "is gone" : "is in another PID namespace");
		return -ENOTSUP;
	}
	t = pstree_find(ctx->items, ctx->nr_items, pid);
	if (!t) {
		pr_err("pid %d fd %d: a pidfd is not supported (process %d is not in the dumped tree)",
		       p->pid, p->fd, pid);
		return -ENOTSUP;
	}
	h = pstree_find(ctx->items, ctx->nr_items, p->pid);
	if (h && !ns_pid_seen_by(h, t, 0)) {
		pr_err("pid %d fd %d: a pidfd is not supported (process %d is in a PID namespace its holder cannot see)",
		       p->pid, p->fd, pid);
		return -ENOTSUP;
	}
	e.id = id;
	e.flags = p->flags;
	e.pid = ns_vpid(pid);
	return img_write_pb(dump_img(ctx, IMG_PIDFD), &e.base);
}

static int pidfd_validate(struct rst_ctx *ctx, struct file_obj *f)
{
	PidfdEntry *e = f->msg;

	if (!pstree_find(ctx->items, ctx->nr_items, e->pid)) {
		pr_err("pidfd.img: pidfd %u refers to process %u, which is not in the images",
		       e->id, e->pid);
		return -EINVAL;
	}
	return 0;
}

static int pidfd_open_placeholder(struct rst_ctx *ctx, struct file_obj *f)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		pr_perror("pidfd %u: cannot open a placeholder", f->id);
		return -errno;
	}
	f->fd = rst_svc_fd(ctx, fd);
	return f->fd < 0 ? f->fd : 0;
}

static int pidfd_post_open(struct rst_ctx *ctx, struct pstree_item *item, FdEntry *fe,
			   struct file_obj *f)
{
	PidfdEntry *e = f->msg;
	/* the process as this task sees it, from inside its PID namespace */
	pid_t pid = ns_pid_for(ctx->items, ctx->nr_items, item, e->pid);
	int fd;

	if (!pid) {
		pr_err("pid %d fd %u: process %u of its pidfd is outside its PID namespace", item->pid,
		       fe->fd, e->pid);
		return -EINVAL;
	}
	fd = syscall(SYS_pidfd_open, pid, e->flags & (O_NONBLOCK | O_EXCL));
	if (fd < 0) {
		pr_perror("pid %d fd %u: cannot open a pidfd of %u", item->pid, fe->fd, e->pid);
		return -errno;
	}
	if (dup2(fd, fe->fd) < 0 || fcntl(fe->fd, F_SETFD, fe->flags & FD_CLOEXEC) < 0) {
		pr_perror("pid %d fd %u: cannot place the pidfd", item->pid, fe->fd);
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

const struct fdtype_ops pidfd_fd_ops = {
	.type = FD_TYPES__PIDFD,
	.name = "pidfd",
	.img = IMG_PIDFD,
	.desc = &pidfd_entry__descriptor,
	.match = pidfd_match,
	.dump = pidfd_dump,
	.validate = pidfd_validate,
	.open = pidfd_open_placeholder,
	.post_open = pidfd_post_open,
};
