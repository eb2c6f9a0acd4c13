/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "fd/files.h"
#include "ns/ns.h"
#include "proc_parse.h"
#include "restore/restore.h"

/* Every kind, in matching order. */
static const struct fdtype_ops *fd_kinds[] = {
	&inet_fd_ops,
	&pipe_fd_ops,
	&fifo_fd_ops,
	&fuse_fd_ops,		/* before tty and reg: /dev/fuse is a misc character device */
	&tty_fd_ops,
	&eventfd_fd_ops,
	&epoll_fd_ops,
	&signalfd_fd_ops,
	&timerfd_fd_ops,
	&inotify_fd_ops,
	&pidfd_fd_ops,
	&mqueue_fd_ops,		/* before reg: a queue is a regular file of the mqueue fs */
	&memfd_fd_ops,		/* before reg: a memfd looks like a deleted file */
	&unix_fd_ops,
	&reg_fd_ops,
};

/* ---------------------------------------------------------------- dump */

struct dumped_file {
	pid_t pid;
	int fd;
	dev_t dev;
	ino_t ino;
	uint32_t flags;
	uint32_t type;
	uint32_t id;
};

static struct dumped_file *dumped;
static unsigned nr_dumped;
static uint32_t next_file_id = 1;
/* Descriptors the dumper holds for files in flight (see dump_local_file). */
static int *local_fds;
static unsigned nr_local_fds;

void files_dump_resume(void)
{
	inet_dump_resume();
}

void files_dump_fini(void)
{
	locks_dump_fini();
	tty_dump_fini();
	inet_dump_fini();
	unix_dump_fini();
	for (unsigned i = 0; i < nr_local_fds; i++)
		close(local_fds[i]);
	free(local_fds);
	local_fds = NULL;
	nr_local_fds = 0;
	free(dumped);
	dumped = NULL;
	nr_dumped = 0;
	next_file_id = 1;
	memfd_dump_fini();
}

static int kcmp_file(pid_t p1, pid_t p2, int fd1, int fd2)
{
	return syscall(SYS_kcmp, p1, p2, KCMP_FILE, fd1, fd2);
}

static int remember(struct fd_parms *p, uint32_t type, uint32_t id)
{
	struct dumped_file *d = xrealloc_array(dumped, nr_dumped + 1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	dumped = d;
	dumped[nr_dumped++] = (struct dumped_file){ p->pid, p->fd, p->st.st_dev, p->st.st_ino,
						    p->flags, type, id };
	return 0;
}

static int parse_fdinfo(struct fd_parms *p)
{
	const char *v;

	p->fdinfo = proc_fdinfo(p->pid, p->fd);
	if (!p->fdinfo) {
		pr_perror("pid %d fd %d: cannot read fdinfo", p->pid, p->fd);
		return -errno;
	}
	v = proc_field(p->fdinfo, "pos");
	p->pos = v ? strtoull(v, NULL, 10) : 0;
	v = proc_field(p->fdinfo, "flags");
	p->flags = v ? strtoul(v, NULL, 8) : 0;
	v = proc_field(p->fdinfo, "mnt_id");
	p->mnt_id = v ? atoi(v) : -1;
	p->fd_flags = (p->flags & O_CLOEXEC) ? FD_CLOEXEC : 0;
	p->flags &= ~O_CLOEXEC;
	return 0;
}

int files_dump_finish(struct dump_ctx *ctx)
{
	(void)ctx;
	return unix_dump_finish();
}

uint32_t file_new_id(void)
{
	return next_file_id++;
}

static int fill_parms(struct fd_parms *p, struct pstree_item *item, pid_t pid, int fd)
{
	ssize_t n;
	int ret;

	memset(p, 0, sizeof(*p));
	p->item = item;
	p->pid = pid;
	p->fd = fd;
	snprintf(p->path, sizeof(p->path), "/proc/%d/fd/%d", p->pid, fd);
	/* a file of a FUSE fs is refused before stat() asks its frozen server */
	if ((ret = parse_fdinfo(p)) || (ret = fuse_dump_check_file(pid, fd, p->mnt_id)))
		return ret;
	if (stat(p->path, &p->st) < 0) {
		pr_perror("pid %d fd %d: cannot stat", p->pid, fd);
		return -errno;
	}
	n = readlink(p->path, p->link, sizeof(p->link) - 1);
	if (n < 0) {
		pr_perror("pid %d fd %d: cannot read link", p->pid, fd);
		return -errno;
	}
	p->link[n] = '\0';
	return 0;
}

int fd_parms_fill(struct fd_parms *p, struct pstree_item *item, int fd)
{
	return fill_parms(p, item, item->pid, fd);
}

void fd_parms_release(struct fd_parms *p)
{
	free(p->fdinfo);
	p->fdinfo = NULL;
}

static const struct fdtype_ops *fd_kind(const struct fd_parms *p)
{
	for (unsigned i = 0; i < ARRAY_SIZE(fd_kinds); i++)
		if (fd_kinds[i]->match(p))
			return fd_kinds[i];
	return NULL;
}

/* The id of an open file seen before (same open file description), or 0. */
static uint32_t find_dumped(struct fd_parms *p, uint32_t *type)
{
	for (unsigned i = 0; i < nr_dumped; i++) {
		struct dumped_file *d = &dumped[i];

		if (d->dev != p->st.st_dev || d->ino != p->st.st_ino || d->fd < 0)
			continue;
		if (kcmp_file(d->pid, p->pid, d->fd, p->fd) == 0) {
			*type = d->type;
			return d->id;
		}
	}
	return 0;
}

/* The (type, id) of the open file p, dumping it if it was not seen before. */
static int dump_parms(struct dump_ctx *ctx, struct fd_parms *p, uint32_t *type, uint32_t *id)
{
	const struct fdtype_ops *ops;
	int ret;

	*id = find_dumped(p, type);
	if (*id)
		return 0;
	ops = fd_kind(p);
	if (!ops) {
		char proto[32] = "";

		if (S_ISSOCK(p->st.st_mode) &&
		    getxattr(p->path, "system.sockprotoname", proto, sizeof(proto) - 1) > 0)
			pr_err("pid %d fd %d: %s socket %s is not supported", p->pid, p->fd, proto,
			       p->link);
		else
			pr_err("pid %d fd %d: %s is not supported", p->pid, p->fd, p->link);
		return -ENOTSUP;
	}
	*id = next_file_id++;
	*type = ops->type;
	ret = ops->dump(ctx, p, *id);
	if (ret < 0)
		return ret;
	return remember(p, *type, *id);
}

int dump_fd_file(struct dump_ctx *ctx, struct pstree_item *item, int fd, uint32_t *type,
		 uint32_t *id, uint32_t *fd_flags)
{
	struct fd_parms p;
	int ret;

	ret = fd_parms_fill(&p, item, fd);
	if (ret < 0)
		return ret;
	if (fd_flags)
		*fd_flags = p.fd_flags;
	ret = dump_parms(ctx, &p, type, id);
	fd_parms_release(&p);
	return ret;
}

int dumped_file_find_epoll_target(pid_t pid, int epfd, int tfd, uint32_t *type, uint32_t *id)
{
	struct kcmp_epoll_slot slot = { .efd = epfd, .tfd = tfd, .toff = 0 };

	for (unsigned i = 0; i < nr_dumped; i++) {
		struct dumped_file *d = &dumped[i];

		if (d->fd < 0)
			continue;
		if (syscall(SYS_kcmp, d->pid, pid, KCMP_EPOLL_TFD, d->fd, &slot) == 0) {
			*type = d->type;
			*id = d->id;
			return 0;
		}
	}
	return -ENOENT;
}

int dump_local_file(struct dump_ctx *ctx, struct pstree_item *item, int fd, uint32_t *type,
		    uint32_t *id)
{
	struct fd_parms p;
	int *n, ret;

	n = xrealloc_array(local_fds, nr_local_fds + 1, sizeof(*n));
	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	local_fds = n;
	local_fds[nr_local_fds++] = fd;
	ret = fill_parms(&p, item, getpid(), fd);
	if (ret < 0)
		return ret;
	ret = dump_parms(ctx, &p, type, id);
	fd_parms_release(&p);
	return ret;
}

static int dump_one_fd(struct dump_ctx *ctx, struct pstree_item *item, int fd, FdEntry **out)
{
	struct fd_parms p;
	uint32_t id, type;
	FdEntry *fe;
	int ret;

	ret = fd_parms_fill(&p, item, fd);
	if (ret < 0)
		return ret;
	ret = dump_parms(ctx, &p, &type, &id);
	if (ret < 0)
		goto out;
	ret = locks_dump_fd(ctx, &p, id);
	if (ret < 0)
		goto out;
	fe = xzalloc(sizeof(*fe));
	if (!fe) {
		ret = -ENOMEM;
		goto out;
	}
	fd_entry__init(fe);
	fe->fd = fd;
	fe->type = type;
	fe->id = id;
	fe->flags = p.fd_flags;
	*out = fe;
out:
	fd_parms_release(&p);
	return ret;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int dump_task_files(struct dump_ctx *ctx, struct pstree_item *item, ProcessCore *core)
{
	char path[64];
	struct dirent *de;
	int *fds = NULL, ret = 0;
	unsigned nr = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", item->pid);
	d = opendir(path);
	if (!d) {
		pr_perror("pid %d: cannot list descriptors", item->pid);
		return -errno;
	}
	while ((de = readdir(d))) {
		int *n;

		if (de->d_name[0] == '.')
			continue;
		n = xrealloc_array(fds, nr + 1, sizeof(int));
		if (!n) {
			ret = -ENOMEM;
			break;
		}
		fds = n;
		fds[nr++] = atoi(de->d_name);
	}
	closedir(d);
	if (ret)
		goto out;
	qsort(fds, nr, sizeof(int), cmp_int);
	core->fds = xzalloc(sizeof(FdEntry *) * (nr + 1));
	if (!core->fds) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < nr; i++) {
		ret = dump_one_fd(ctx, item, fds[i], &core->fds[core->n_fds]);
		if (ret < 0)
			goto out;
		core->n_fds++;
	}
out:
	free(fds);
	return ret;
}

int dump_file_by_path(struct dump_ctx *ctx, struct pstree_item *item, const char *procpath,
		      uint32_t flags, uint32_t *id)
{
	const struct fdtype_ops *ops;
	struct fd_parms p;
	ssize_t n;
	int ret;

	memset(&p, 0, sizeof(p));
	p.item = item;
	p.pid = item->pid;
	p.fd = -1;
	p.flags = flags;
	snprintf(p.path, sizeof(p.path), "%s", procpath);
	if ((ret = fuse_dump_check_path(item->pid, procpath)))
		return ret;
	if (stat(procpath, &p.st) < 0) {
		pr_perror("pid %d: cannot stat %s", item->pid, procpath);
		return -errno;
	}
	n = readlink(procpath, p.link, sizeof(p.link) - 1);
	if (n < 0) {
		pr_perror("pid %d: cannot read link %s", item->pid, procpath);
		return -errno;
	}
	p.link[n] = '\0';
	ops = strncmp(p.link, "/memfd:", 7) ? &reg_fd_ops : &memfd_fd_ops;
	for (unsigned i = 0; i < nr_dumped; i++) {
		struct dumped_file *d = &dumped[i];

		if (d->fd < 0 && d->type == (uint32_t)ops->type && d->dev == p.st.st_dev &&
		    d->ino == p.st.st_ino && d->flags == flags) {
			*id = d->id;
			return 0;
		}
	}
	*id = next_file_id++;
	ret = ops->dump(ctx, &p, *id);
	if (ret < 0)
		return ret;
	return remember(&p, ops->type, *id);
}

/* ---------------------------------------------------------------- restore */

/* lxc-cr's /proc, reachable while lxc-cr is in the tree's mounts (whose own
 * /proc comes later, or never) */
static int reopen_proc = -1;

void files_set_proc(int procfd)
{
	reopen_proc = procfd;
}

int reopen_fd(int fd, int flags)
{
	char p[64];

	if (reopen_proc >= 0) {
		snprintf(p, sizeof(p), "self/fd/%d", fd);
		return openat(reopen_proc, p, flags);
	}
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return open(p, flags);
}

struct file_obj *file_find(struct rst_ctx *ctx, uint32_t type, uint32_t id)
{
	for (unsigned i = 0; i < ctx->nr_files; i++)
		if (ctx->files[i].id == id && ctx->files[i].ops->type == (FdTypes)type)
			return &ctx->files[i];
	return NULL;
}

struct file_obj *file_find_mapped(struct rst_ctx *ctx, uint32_t id)
{
	return file_find(ctx, FD_TYPES__REG, id) ?: file_find(ctx, FD_TYPES__MEMFD, id);
}

/* The id of a kind's record: its "id" field, found through the descriptor. */
static uint32_t record_id(const struct fdtype_ops *ops, const void *msg)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(ops->desc, "id");

	return *(const uint32_t *)((const char *)msg + f->offset);
}

int files_collect(struct rst_ctx *ctx)
{
	int ret;

	for (unsigned k = 0; k < ARRAY_SIZE(fd_kinds); k++) {
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field_by_name(fd_kinds[k]->desc, "id");

		if (!f || f->type != PROTOBUF_C_TYPE_UINT32 || f->label != PROTOBUF_C_LABEL_REQUIRED) {
			pr_err("%s: its record has no required uint32 id (a bug)", fd_kinds[k]->name);
			return -EINVAL;
		}
	}
	for (unsigned k = 0; k < ARRAY_SIZE(fd_kinds); k++) {
		const struct fdtype_ops *ops = fd_kinds[k];
		struct cr_img *img;
		void *msg;

		img = img_open_optional(&ctx->dir, ops->img, 0);
		if (!img) {
			if (errno == ENOENT)
				continue;
			return -EINVAL;
		}
		while ((ret = img_read_pb(img, ops->desc, &msg)) > 0) {
			struct file_obj *f;
			uint32_t id = record_id(ops, msg);

			if (file_find(ctx, ops->type, id)) {
				pr_err("image %s: %s object %u appears twice", img->name, ops->name, id);
				img_free_pb(msg);
				img_close(img);
				return -EINVAL;
			}
			f = xrealloc_array(ctx->files, ctx->nr_files + 1, sizeof(*f));
			if (!f) {
				img_free_pb(msg);
				img_close(img);
				return -ENOMEM;
			}
			ctx->files = f;
			f = &ctx->files[ctx->nr_files++];
			memset(f, 0, sizeof(*f));
			f->ops = ops;
			f->id = id;
			f->msg = msg;
			f->fd = -1;
			f->inherit = -1;
			if (ops->validate && (ret = ops->validate(ctx, f)) < 0) {
				img_close(img);
				return ret;
			}
		}
		img_close(img);
		if (ret < 0)
			return ret;
	}
	ret = inherit_collect(ctx);
	if (ret < 0)
		return ret;
	return locks_collect(ctx);
}

int file_set_flags(int fd, uint32_t flags)
{
	if (fcntl(fd, F_SETFL, flags & (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)) < 0) {
		pr_perror("cannot set file flags 0%o", flags);
		return -errno;
	}
	return 0;
}

int rst_svc_fd(struct rst_ctx *ctx, int fd)
{
	int nfd;

	if (fd < 0)
		return fd;
	if (fd >= ctx->svc_base)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, ctx->svc_next);
	if (nfd < 0) {
		pr_perror("cannot move descriptor %d above %d", fd, ctx->svc_next);
		close(fd);
		return -errno;
	}
	close(fd);
	ctx->svc_next = nfd + 1;
	return nfd;
}

int file_open_obj(struct rst_ctx *ctx, struct file_obj *f)
{
	int ret;

	if (f->fd >= 0)
		return 0;
	ret = f->inherit >= 0 ? inherit_open(ctx, f) : f->ops->open(ctx, f);
	if (ret < 0)
		return ret;
	if (f->fd < 0) {
		pr_err("%s object %u was not opened", f->ops->name, f->id);
		return -EINVAL;
	}
	return 0;
}

static int need_reg(struct rst_ctx *ctx, uint32_t id, const char *what, pid_t pid)
{
	struct file_obj *f;

	if (!id)
		return 0;
	f = file_find_mapped(ctx, id);
	if (!f) {
		pr_err("pid %d: %s refers to file %u, which is not in the images", pid, what, id);
		return -EINVAL;
	}
	return file_open_obj(ctx, f);
}

/* Whether item is sub or below it. */
static bool in_subtree(const struct pstree_item *item, const struct pstree_item *sub)
{
	for (; item; item = item->parent)
		if (item == sub)
			return true;
	return false;
}

/* the part of the tree files_open_tasks() is opening, if it opens a part */
static struct {
	const struct pstree_item *sub;
	bool inside;
} part;

int files_open_all(struct rst_ctx *ctx)
{
	return files_open_tasks(ctx, NULL, false);
}

int files_obj_in_part(struct rst_ctx *ctx, const struct file_obj *f)
{
	bool other = false;

	if (!part.sub)
		return 1;
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		ProcessCore *pc = ctx->items[i]->rcore;

		if (!pc)
			continue;
		for (size_t j = 0; j < pc->n_fds; j++) {
			if (pc->fds[j]->type != f->ops->type || pc->fds[j]->id != f->id)
				continue;
			if (in_subtree(ctx->items[i], part.sub) == part.inside)
				return 1;
			other = true;
		}
	}
	return other ? 0 : -1;
}

static int open_tasks(struct rst_ctx *ctx, const struct pstree_item *sub, bool inside);

int files_open_tasks(struct rst_ctx *ctx, const struct pstree_item *sub, bool inside)
{
	int ret;

	part.sub = sub;
	part.inside = inside;
	ret = open_tasks(ctx, sub, inside);
	part.sub = NULL;
	return ret;
}

static int open_tasks(struct rst_ctx *ctx, const struct pstree_item *sub, bool inside)
{
	int ret;

	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *item = ctx->items[i];
		ProcessCore *pc = item->rcore;

		if (!pc || (sub && in_subtree(item, sub) != inside))
			continue;
		for (size_t j = 0; j < pc->n_fds; j++) {
			FdEntry *fe = pc->fds[j];
			struct file_obj *f = file_find(ctx, fe->type, fe->id);

			if (!f) {
				pr_err("pid %d fd %u: object %u of type %u is not in the images",
				       item->pid, fe->fd, fe->id, fe->type);
				return -EINVAL;
			}
			ret = file_open_obj(ctx, f);
			if (ret < 0) {
				pr_err("pid %d fd %u: cannot restore its %s: %s", item->pid, fe->fd,
				       f->ops->name, strerror(-ret));
				return ret;
			}
		}
		if ((ret = need_reg(ctx, pc->has_cwd_id ? pc->cwd_id : 0, "cwd", item->pid)) ||
		    (ret = need_reg(ctx, pc->has_root_id ? pc->root_id : 0, "root", item->pid)) ||
		    (ret = need_reg(ctx, pc->mm->has_exe_file_id ? pc->mm->exe_file_id : 0, "exe", item->pid)))
			return ret;
		for (size_t v = 0; v < pc->mm->n_vmas; v++) {
			VmaEntry *ve = pc->mm->vmas[v];

			if (ve->has_file_id && (ret = need_reg(ctx, ve->file_id, "mapping", item->pid)))
				return ret;
		}
	}
	return 0;
}

int files_restore_task(struct rst_ctx *ctx, struct pstree_item *item)
{
	ProcessCore *pc = item->rcore;
	_cleanup_free_ char *keep = xzalloc(ctx->svc_base + 1);
	int ret;

	if (!keep)
		return -ENOMEM;
	for (size_t j = 0; j < pc->n_fds; j++) {
		FdEntry *fe = pc->fds[j];
		struct file_obj *f = file_find(ctx, fe->type, fe->id);

		if (dup2(f->fd, fe->fd) < 0) {
			pr_perror("pid %d: cannot place fd %u", item->pid, fe->fd);
			return -errno;
		}
		if (fcntl(fe->fd, F_SETFD, fe->flags & FD_CLOEXEC) < 0) {
			pr_perror("pid %d fd %u: cannot set descriptor flags", item->pid, fe->fd);
			return -errno;
		}
		keep[fe->fd] = 1;
	}
	/* Everything below the service range that the task did not have goes. */
	for (int fd = 0; fd < ctx->svc_base; fd++)
		if (!keep[fd])
			close(fd);
	for (size_t j = 0; j < pc->n_fds; j++) {
		FdEntry *fe = pc->fds[j];
		struct file_obj *f = file_find(ctx, fe->type, fe->id);

		if (f->inherit < 0 && f->ops->post_open &&
		    (ret = f->ops->post_open(ctx, item, fe, f)) < 0)
			return ret;
	}
	return 0;
}

void files_free(struct rst_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->nr_files; i++) {
		if (ctx->files[i].ops->release)
			ctx->files[i].ops->release(&ctx->files[i]);
		img_free_pb(ctx->files[i].msg);
		if (ctx->files[i].fd >= 0)
			close(ctx->files[i].fd);
		free(ctx->files[i].priv);
	}
	free(ctx->files);
	ctx->files = NULL;
	ctx->nr_files = 0;
	locks_free(ctx);
}
