/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * epoll: the instance is created in the restoring process; its watches are
 * added in one task that holds it (the first in tree order, at its first
 * such fd), after every fd is at its number, because the kernel keys a watch
 * by (file, fd number). A watch whose number is not the target in that task
 * is added through a temporary descriptor at that number. A one-shot watch
 * that had fired is added first and fired again, so that it stays disarmed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <sys/epoll.h>
#include <sys/syscall.h>

#include "fd/files.h"
#include "restore/restore.h"

#define EP_PRIVATE_BITS (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)
#define EP_MAX_WATCHES (1u << 20)

static bool epoll_match(const struct fd_parms *p)
{
	return p->fd >= 0 && !strcmp(p->link, "anon_inode:[eventpoll]");
}

/* The file behind watch tfd (the toff-th with that number) of epoll p. */
static int epoll_target(struct dump_ctx *ctx, struct fd_parms *p, int tfd, int toff,
			uint32_t *type, uint32_t *id)
{
	struct kcmp_epoll_slot slot = { .efd = p->fd, .tfd = tfd, .toff = toff };

	if (syscall(SYS_kcmp, p->pid, p->pid, KCMP_EPOLL_TFD, tfd, &slot) == 0)
		return dump_fd_file(ctx, p->item, tfd, type, id, NULL);
	if (toff == 0 && dumped_file_find_epoll_target(p->pid, p->fd, tfd, type, id) == 0)
		return 0;
	/* another fd of the same process may hold it */
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *it = ctx->items[i];
		char path[64];
		struct dirent *de;
		DIR *d;
		int ret = -ENOENT;

		snprintf(path, sizeof(path), "/proc/%d/fd", it->pid);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			int fd = atoi(de->d_name);

			if (de->d_name[0] == '.')
				continue;
			if (syscall(SYS_kcmp, it->pid, p->pid, KCMP_EPOLL_TFD, fd, &slot) == 0) {
				ret = dump_fd_file(ctx, it, fd, type, id, NULL);
				break;
			}
		}
		closedir(d);
		if (ret != -ENOENT)
			return ret;
	}
	pr_err("pid %d fd %d: an epoll watch of fd %d is not supported (its file is open nowhere in the tree)",
	       p->pid, p->fd, tfd);
	return -ENOTSUP;
}

static void free_tfds(EpollEntry *e)
{
	for (size_t i = 0; i < e->n_tfds; i++)
		free(e->tfds[i]);
	free(e->tfds);
}

static int epoll_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	EpollEntry e = EPOLL_ENTRY__INIT;
	_cleanup_free_ char *info = p->fdinfo ? xstrdup(p->fdinfo) : NULL;
	char *line, *save = NULL;
	int ret = 0;

	if (!info)
		return -ENOMEM;
	e.id = id;
	e.flags = p->flags;
	for (line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long data;
		unsigned events;
		int tfd, toff = 0;
		EpollTfdEntry *t, **n;

		if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3)
			continue;
		for (size_t i = 0; i < e.n_tfds; i++)
			if (e.tfds[i]->tfd == (uint32_t)tfd)
				toff++;
		t = xzalloc(sizeof(*t));
		n = xrealloc_array(e.tfds, e.n_tfds + 1, sizeof(*n));
		if (!t || !n) {
			free(t);
			if (n)
				e.tfds = n;
			ret = -ENOMEM;
			break;
		}
		e.tfds = n;
		epoll_tfd_entry__init(t);
		e.tfds[e.n_tfds++] = t;
		t->tfd = tfd;
		t->events = events;
		t->data = data;
		ret = epoll_target(ctx, p, tfd, toff, &t->type, &t->target_id);
		if (ret)
			break;
	}
	if (!ret)
		ret = img_write_pb(dump_img(ctx, IMG_EPOLL), &e.base);
	free_tfds(&e);
	return ret;
}

static int epoll_validate(struct rst_ctx *ctx, struct file_obj *f)
{
	EpollEntry *e = f->msg;

	if (e->n_tfds > EP_MAX_WATCHES) {
		pr_err("eventpoll.img: epoll %u has %zu watches", e->id, e->n_tfds);
		return -EINVAL;
	}
	for (size_t i = 0; i < e->n_tfds; i++) {
		if (e->tfds[i]->tfd > 1u << 20 || !e->tfds[i]->target_id) {
			pr_err("eventpoll.img: epoll %u: watch %zu is invalid", e->id, i);
			return -EINVAL;
		}
		/* a watch may be added through a number no task has open: keep it below
		 * the service fds */
		if ((int)e->tfds[i]->tfd > ctx->max_target_fd)
			ctx->max_target_fd = e->tfds[i]->tfd;
	}
	return 0;
}

static int epoll_open(struct rst_ctx *ctx, struct file_obj *f)
{
	EpollEntry *e = f->msg;
	int fd, ret;

	fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0) {
		pr_perror("epoll %u: cannot create", e->id);
		return -errno;
	}
	ret = file_set_flags(fd, e->flags);
	if (ret) {
		close(fd);
		return ret;
	}
	f->fd = rst_svc_fd(ctx, fd);
	if (f->fd < 0)
		return f->fd;
	/* the targets must exist in every task, for post_open */
	for (size_t i = 0; i < e->n_tfds; i++) {
		struct file_obj *t = file_find(ctx, e->tfds[i]->type, e->tfds[i]->target_id);

		if (!t) {
			pr_err("eventpoll.img: epoll %u watches object %u of type %u, which is not in the images",
			       e->id, e->tfds[i]->target_id, e->tfds[i]->type);
			return -EINVAL;
		}
		ret = file_open_obj(ctx, t);
		if (ret)
			return ret;
	}
	return 0;
}

/* Is (item, fe) the one place where this epoll's watches are added? */
static bool epoll_owner(struct rst_ctx *ctx, struct pstree_item *item, FdEntry *fe)
{
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		ProcessCore *pc = ctx->items[i]->rcore;

		if (!pc || ctx->items[i]->pe->state != TASK_ALIVE)
			continue;
		for (size_t j = 0; j < pc->n_fds; j++)
			if (pc->fds[j]->type == fe->type && pc->fds[j]->id == fe->id)
				return ctx->items[i] == item && pc->fds[j] == fe;
	}
	return false;
}

static int epoll_add_one(struct rst_ctx *ctx, struct pstree_item *item, int ep, EpollTfdEntry *t,
			 uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = t->data };
	struct file_obj *tf = file_find(ctx, t->type, t->target_id);
	ProcessCore *pc = item->rcore;
	FdEntry *holder = NULL;
	int tfd = t->tfd, save = -1, ret = 0;

	for (size_t j = 0; j < pc->n_fds; j++)
		if (pc->fds[j]->fd == t->tfd)
			holder = pc->fds[j];
	if (holder && holder->type == t->type && holder->id == t->target_id) {
		if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0) {
			pr_perror("pid %d: cannot watch fd %d", item->pid, tfd);
			return -errno;
		}
		return 0;
	}
	/* put the target at that number for a moment */
	if (fcntl(tfd, F_GETFD) >= 0) {
		save = fcntl(tfd, F_DUPFD_CLOEXEC, ctx->svc_base);
		if (save < 0) {
			pr_perror("pid %d: cannot move fd %d aside", item->pid, tfd);
			return -errno;
		}
	}
	if (dup2(tf->fd, tfd) < 0) {
		pr_perror("pid %d: cannot put the target of an epoll watch at %d", item->pid, tfd);
		ret = -errno;
	} else if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0) {
		pr_perror("pid %d: cannot watch %s %u as fd %d", item->pid, tf->ops->name, tf->id, tfd);
		ret = -errno;
	}
	if (save >= 0) {
		if (dup2(save, tfd) < 0 ||
		    fcntl(tfd, F_SETFD, holder ? (holder->flags & FD_CLOEXEC) : 0) < 0) {
			pr_perror("pid %d: cannot put fd %d back", item->pid, tfd);
			ret = -errno;
		}
		close(save);
	} else {
		close(tfd);
	}
	return ret;
}

static int epoll_post_open(struct rst_ctx *ctx, struct pstree_item *item, FdEntry *fe,
			   struct file_obj *f)
{
	EpollEntry *e = f->msg;
	int ep = fe->fd, ret, n;
	bool disarmed = false;

	if (!epoll_owner(ctx, item, fe))
		return 0;
	/* fired one-shots first: armed on everything, then fired */
	for (size_t i = 0; i < e->n_tfds; i++) {
		EpollTfdEntry *t = e->tfds[i];

		if (!(t->events & EPOLLONESHOT) || (t->events & ~EP_PRIVATE_BITS))
			continue;
		ret = epoll_add_one(ctx, item, ep, t,
				    t->events | EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDNORM |
					    EPOLLWRNORM | EPOLLRDBAND | EPOLLWRBAND | EPOLLRDHUP);
		if (ret)
			return ret;
		disarmed = true;
	}
	if (disarmed) {
		struct epoll_event evs[256];

		n = epoll_wait(ep, evs, ARRAY_SIZE(evs), 0);
		if (n < 0)
			n = 0;
		for (size_t i = 0; i < e->n_tfds; i++) {
			EpollTfdEntry *t = e->tfds[i];
			struct epoll_event ev = { .events = t->events, .data.u64 = t->data };
			bool fired = false;

			if (!(t->events & EPOLLONESHOT) || (t->events & ~EP_PRIVATE_BITS))
				continue;
			for (int k = 0; k < n && !fired; k++) {
				if (evs[k].data.u64 == t->data) {
					fired = true;
					evs[k].data.u64 = ~evs[k].data.u64;
				}
			}
			if (fired)
				continue;
			/* its target is not ready: it stays armed for errors only */
			if (epoll_ctl(ep, EPOLL_CTL_MOD, t->tfd, &ev) == 0)
				pr_warn("pid %d: epoll %u: fired one-shot watch of fd %u is armed for errors",
					item->pid, e->id, t->tfd);
		}
	}
	for (size_t i = 0; i < e->n_tfds; i++) {
		EpollTfdEntry *t = e->tfds[i];

		if ((t->events & EPOLLONESHOT) && !(t->events & ~EP_PRIVATE_BITS))
			continue;
		ret = epoll_add_one(ctx, item, ep, t, t->events);
		if (ret)
			return ret;
	}
	return 0;
}

const struct fdtype_ops epoll_fd_ops = {
	.type = FD_TYPES__EVENTPOLL,
	.name = "epoll",
	.img = IMG_EPOLL,
	.desc = &epoll_entry__descriptor,
	.match = epoll_match,
	.dump = epoll_dump,
	.validate = epoll_validate,
	.open = epoll_open,
	.post_open = epoll_post_open,
};
