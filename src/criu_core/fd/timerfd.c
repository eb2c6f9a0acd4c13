/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * timerfd: clock, settime flags, what was left of the current period and
 * the interval, from fdinfo. Re-armed with the time that was left (an
 * absolute timer at now + left on its own clock); expirations not read yet
 * are put back with TFD_IOC_SET_TICKS.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>

#include "fd/files.h"
#include "proc_parse.h"
#include "restore/restore.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif
#define NSEC_PER_SEC 1000000000ULL

static bool timerfd_match(const struct fd_parms *p)
{
	return p->fd >= 0 && !strcmp(p->link, "anon_inode:[timerfd]");
}

static int timerfd_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	TimerfdEntry e = TIMERFD_ENTRY__INIT;
	const char *c = proc_field(p->fdinfo, "clockid");
	const char *t = proc_field(p->fdinfo, "ticks");
	const char *fl = proc_field(p->fdinfo, "settime flags");
	const char *v = proc_field(p->fdinfo, "it_value");
	const char *i = proc_field(p->fdinfo, "it_interval");
	unsigned long long vs, vn, is, in;

	if (!c || !t || !fl || !v || !i || sscanf(v, "(%llu, %llu)", &vs, &vn) != 2 ||
	    sscanf(i, "(%llu, %llu)", &is, &in) != 2) {
		pr_err("pid %d fd %d: cannot parse the timerfd's fdinfo", p->pid, p->fd);
		return -EINVAL;
	}
	e.id = id;
	e.flags = p->flags;
	e.clockid = atoi(c);
	e.ticks = strtoull(t, NULL, 10);
	e.settime_flags = strtoul(fl, NULL, 8);
	e.vsec = vs;
	e.vnsec = vn;
	e.isec = is;
	e.insec = in;
	return img_write_pb(dump_img(ctx, IMG_TIMERFD), &e.base);
}

static int timerfd_validate(struct rst_ctx *ctx, struct file_obj *f)
{
	TimerfdEntry *e = f->msg;

	(void)ctx;
	if (e->vnsec >= NSEC_PER_SEC || e->insec >= NSEC_PER_SEC || e->vsec > INT64_MAX / 2 ||
	    e->isec > INT64_MAX / 2 || e->settime_flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) {
		pr_err("timerfd.img: timerfd %u has invalid times or flags", e->id);
		return -EINVAL;
	}
	return 0;
}

static int timerfd_open(struct rst_ctx *ctx, struct file_obj *f)
{
	TimerfdEntry *e = f->msg;
	struct itimerspec its = {
		.it_value = { (time_t)e->vsec, (long)e->vnsec },
		.it_interval = { (time_t)e->isec, (long)e->insec },
	};
	int fd, ret;

	fd = timerfd_create(e->clockid, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0) {
		pr_perror("timerfd %u: cannot create on clock %u", e->id, e->clockid);
		return -errno;
	}
	if ((e->settime_flags & TFD_TIMER_ABSTIME) && (e->vsec || e->vnsec)) {
		struct timespec now;

		clock_gettime(e->clockid, &now);
		its.it_value.tv_sec += now.tv_sec;
		its.it_value.tv_nsec += now.tv_nsec;
		if (its.it_value.tv_nsec >= (long)NSEC_PER_SEC) {
			its.it_value.tv_nsec -= NSEC_PER_SEC;
			its.it_value.tv_sec++;
		}
	}
	if (timerfd_settime(fd, e->settime_flags, &its, NULL) < 0) {
		pr_perror("timerfd %u: cannot arm", e->id);
		ret = -errno;
		goto err;
	}
	if (e->ticks && ioctl(fd, TFD_IOC_SET_TICKS, &e->ticks) < 0) {
		pr_perror("timerfd %u: cannot restore %llu pending expirations", e->id,
			  (unsigned long long)e->ticks);
		ret = -errno;
		goto err;
	}
	ret = file_set_flags(fd, e->flags);
	if (ret)
		goto err;
	f->fd = rst_svc_fd(ctx, fd);
	return f->fd < 0 ? f->fd : 0;
err:
	close(fd);
	return ret;
}

const struct fdtype_ops timerfd_fd_ops = {
	.type = FD_TYPES__TIMERFD,
	.name = "timerfd",
	.img = IMG_TIMERFD,
	.desc = &timerfd_entry__descriptor,
	.match = timerfd_match,
	.dump = timerfd_dump,
	.validate = timerfd_validate,
	.open = timerfd_open,
};
