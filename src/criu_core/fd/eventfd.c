/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * eventfd: the counter and EFD_SEMAPHORE come from fdinfo; the counter may be
 * any value below ULLONG_MAX, so it is written after creating the eventfd.
 */
#include <fcntl.h>
#include <sys/eventfd.h>

#include "fd/files.h"
#include "proc_parse.h"
#include "restore/restore.h"

static bool eventfd_match(const struct fd_parms *p)
{
	return p->fd >= 0 && !strcmp(p->link, "anon_inode:[eventfd]");
}

static int eventfd_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	EventfdEntry e = EVENTFD_ENTRY__INIT;
	const char *v = proc_field(p->fdinfo, "eventfd-count");

	if (!v) {
		pr_err("pid %d fd %d: no eventfd-count in fdinfo", p->pid, p->fd);
		return -EINVAL;
	}
	e.id = id;
	e.flags = p->flags;
	e.counter = strtoull(v, NULL, 16);
	v = proc_field(p->fdinfo, "eventfd-semaphore");
	if (v) {
		e.has_semaphore = true;
		e.semaphore = atoi(v) != 0;
	} else if (p->flags & EFD_SEMAPHORE) {
		e.has_semaphore = e.semaphore = true;
	}
	return img_write_pb(dump_img(ctx, IMG_EVENTFD), &e.base);
}

static int eventfd_validate(struct rst_ctx *ctx, struct file_obj *f)
{
	EventfdEntry *e = f->msg;

	(void)ctx;
	if (e->counter == UINT64_MAX) {
		pr_err("eventfd.img: eventfd %u has an impossible counter", e->id);
		return -EINVAL;
	}
	return 0;
}

static int eventfd_open(struct rst_ctx *ctx, struct file_obj *f)
{
	EventfdEntry *e = f->msg;
	int fd, ret;

	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | (e->semaphore ? EFD_SEMAPHORE : 0));
	if (fd < 0) {
		pr_perror("eventfd %u: cannot create", e->id);
		return -errno;
	}
	if (e->counter && write(fd, &e->counter, sizeof(e->counter)) != sizeof(e->counter)) {
		pr_perror("eventfd %u: cannot set its counter", e->id);
		close(fd);
		return -EIO;
	}
	ret = file_set_flags(fd, e->flags);
	if (ret) {
		close(fd);
		return ret;
	}
	f->fd = rst_svc_fd(ctx, fd);
	return f->fd < 0 ? f->fd : 0;
}

const struct fdtype_ops eventfd_fd_ops = {
	.type = FD_TYPES__EVENTFD,
	.name = "eventfd",
	.img = IMG_EVENTFD,
	.desc = &eventfd_entry__descriptor,
	.match = eventfd_match,
	.dump = eventfd_dump,
	.validate = eventfd_validate,
	.open = eventfd_open,
};
