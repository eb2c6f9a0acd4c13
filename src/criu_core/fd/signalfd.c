/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * signalfd: only its mask (fdinfo "sigmask"). The pending signals it reads
 * belong to the task and are restored with it.
 */
#include <fcntl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>

#include "fd/files.h"
#include "proc_parse.h"
#include "restore/restore.h"

static bool signalfd_match(const struct fd_parms *p)
{
	return p->fd >= 0 && !strcmp(p->link, "anon_inode:[signalfd]");
}

static int signalfd_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	SignalfdEntry e = SIGNALFD_ENTRY__INIT;
	const char *v = proc_field(p->fdinfo, "sigmask");

	if (!v) {
		pr_err("pid %d fd %d: no sigmask in fdinfo", p->pid, p->fd);
		return -EINVAL;
	}
	e.id = id;
	e.flags = p->flags;
	e.sigmask = strtoull(v, NULL, 16);
	return img_write_pb(dump_img(ctx, IMG_SIGNALFD), &e.base);
}

static int signalfd_open(struct rst_ctx *ctx, struct file_obj *f)
{
	SignalfdEntry *e = f->msg;
	uint64_t mask = e->sigmask;
	int fd, ret;

	/* the kernel's sigset is 8 bytes here; glibc's sigset_t is larger */
	fd = syscall(SYS_signalfd4, -1, &mask, sizeof(mask), SFD_CLOEXEC);
	if (fd < 0) {
		pr_perror("signalfd %u: cannot create", e->id);
		return -errno;
	}
	ret = file_set_flags(fd, e->flags);
	if (ret) {
		close(fd);
		return ret;
	}
	f->fd = rst_svc_fd(ctx, fd);
	return f->fd < 0 ? f->fd : 0;
}

const struct fdtype_ops signalfd_fd_ops = {
	.type = FD_TYPES__SIGNALFD,
	.name = "signalfd",
	.img = IMG_SIGNALFD,
	.desc = &signalfd_entry__descriptor,
	.match = signalfd_match,
	.dump = signalfd_dump,
	.open = signalfd_open,
};
