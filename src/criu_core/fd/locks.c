/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File locks (--file-locks). fdinfo lists, for each descriptor, the locks
 * taken through its open file that belong to it: flock and OFD locks belong
 * to the open file, POSIX locks to the process. Each is saved once with a
 * descriptor of its owner, and taken again in the restored task through that
 * descriptor, with the same type and range.
 *
 * A POSIX lock goes away when its owner closes any descriptor on the file, so
 * the task takes them last, after closing the copies of the restore's own
 * descriptors that point at the same file.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>

#include "fd/files.h"
#include "ns/ns.h"
#include "restore/restore.h"

enum { LK_FLOCK = 1, LK_POSIX = 2, LK_OFD = 3 };

static const char *const lk_names[] = { "", "flock", "POSIX", "OFD" };

struct dumped_lock {
	uint32_t kind, type, owner;	/* owner: file id (flock, OFD) or pid (POSIX) */
	uint64_t dev, ino;
	int64_t start, len;
};

static struct dumped_lock *dlocks;
static unsigned nr_dlocks;

void locks_dump_fini(void)
{
	free(dlocks);
	dlocks = NULL;
	nr_dlocks = 0;
}

/*
 * One "lock:" line of fdinfo, as the kernel prints it:
 *   lock:	1: POSIX  ADVISORY  WRITE 1234 00:2a:5678 100 199
 *   lock:	2: FLOCK  ADVISORY  READ 1234 00:2a:5678 0 EOF
 */
static int parse_lock(const char *line, struct dumped_lock *l, char *kind_name, size_t klen)
{
	char kind[16], adv[16], type[16], end[32];
	unsigned maj, min;
	unsigned long long ino;
	long long start;
	int pid;

	if (sscanf(line, "%*d: %15s %15s %15s %d %x:%x:%llu %lld %31s", kind, adv, type, &pid,
		   &maj, &min, &ino, &start, end) != 9)
		return -EINVAL;
	snprintf(kind_name, klen, "%s", kind);
	if (!strcmp(kind, "FLOCK"))
		l->kind = LK_FLOCK;
	else if (!strcmp(kind, "POSIX"))
		l->kind = LK_POSIX;
	else if (!strcmp(kind, "OFDLCK"))
		l->kind = LK_OFD;
	else
		return -ENOTSUP;
	if (!strcmp(type, "WRITE"))
		l->type = F_WRLCK;
	else if (!strcmp(type, "READ"))
		l->type = F_RDLCK;
	else
		return -ENOTSUP;
	l->dev = ((uint64_t)maj << 8) | min;
	l->ino = ino;
	l->start = start;
	if (l->kind == LK_FLOCK) {
		l->start = l->len = 0;
	} else if (!strcmp(end, "EOF")) {
		l->len = 0;
	} else {
		long long e = strtoll(end, NULL, 10);

		if (e < start)
			return -EINVAL;
		l->len = e - start + 1;
	}
	return 0;
}

static bool lock_seen(const struct dumped_lock *l)
{
	for (unsigned i = 0; i < nr_dlocks; i++) {
		const struct dumped_lock *d = &dlocks[i];

		if (d->kind == l->kind && d->type == l->type && d->owner == l->owner &&
		    d->dev == l->dev && d->ino == l->ino && d->start == l->start && d->len == l->len)
			return true;
	}
	return false;
}

int locks_dump_fd(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	const char *s = p->fdinfo;

	while (s && (s = strstr(s, "lock:"))) {
		struct dumped_lock l, *n;
		FileLockEntry e = FILE_LOCK_ENTRY__INIT;
		char kind[16] = "";
		int ret;

		if (s != p->fdinfo && s[-1] != '\n') {
			s += 5;
			continue;
		}
		s += 5;
		if (!ctx->opts->file_locks) {
			pr_err("pid %d fd %d: holds a file lock (use --file-locks)", p->pid, p->fd);
			return -ENOTSUP;
		}
		memset(&l, 0, sizeof(l));
		ret = parse_lock(s, &l, kind, sizeof(kind));
		if (ret == -ENOTSUP) {
			pr_err("pid %d fd %d: a %s lock is not supported (only flock, POSIX and OFD locks are)",
			       p->pid, p->fd, kind);
			return ret;
		}
		if (ret) {
			pr_err("pid %d fd %d: cannot parse its lock line in fdinfo", p->pid, p->fd);
			return ret;
		}
		l.owner = l.kind == LK_POSIX ? (uint32_t)p->pid : id;
		if (lock_seen(&l))
			continue;
		n = xrealloc_array(dlocks, nr_dlocks + 1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		dlocks = n;
		dlocks[nr_dlocks++] = l;
		e.kind = l.kind;
		e.type = l.type;
		e.pid = ns_vpid(p->pid);
		e.fd = p->fd;
		e.start = l.start;
		e.len = l.len;
		pr_info("pid %d fd %d: %s lock %s [%lld +%lld]", p->pid, p->fd, lk_names[l.kind],
			l.type == F_WRLCK ? "write" : "read", (long long)l.start, (long long)l.len);
		ret = img_write_pb(dump_img(ctx, IMG_FILE_LOCKS), &e.base);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---------------------------------------------------------------- restore */

static bool task_has_fd(struct pstree_item *item, uint32_t fd)
{
	ProcessCore *pc = item->rcore;

	for (size_t j = 0; pc && j < pc->n_fds; j++)
		if (pc->fds[j]->fd == fd)
			return true;
	return false;
}

int locks_collect(struct rst_ctx *ctx)
{
	struct cr_img *img = img_open_optional(&ctx->dir, IMG_FILE_LOCKS, 0);
	FileLockEntry *e;
	int ret;

	if (!img)
		return errno == ENOENT ? 0 : -EINVAL;
	while ((ret = img_read_pb(img, &file_lock_entry__descriptor, (void **)&e)) > 0) {
		struct pstree_item *item = pstree_find(ctx->items, ctx->nr_items, e->pid);
		FileLockEntry **n;

		if (!item || !item->rcore || !task_has_fd(item, e->fd) || !e->kind || e->kind > LK_OFD ||
		    (e->type != F_RDLCK && e->type != F_WRLCK) || e->start < 0 || e->len < 0) {
			pr_err("image %s: the lock of pid %u fd %u is invalid", img->name, e->pid, e->fd);
			img_free_pb(e);
			ret = -EINVAL;
			break;
		}
		n = xrealloc_array(ctx->locks, ctx->nr_locks + 1, sizeof(*n));
		if (!n) {
			img_free_pb(e);
			ret = -ENOMEM;
			break;
		}
		ctx->locks = n;
		ctx->locks[ctx->nr_locks++] = e;
	}
	img_close(img);
	return ret < 0 ? ret : 0;
}

void locks_free(struct rst_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->nr_locks; i++)
		img_free_pb(ctx->locks[i]);
	free(ctx->locks);
	ctx->locks = NULL;
	ctx->nr_locks = 0;
}

/* Close the restore's own descriptors on the file of fd: closing them later would drop
 * the POSIX locks the task is about to take. */
static int close_svc_copies(struct rst_ctx *ctx, int fd)
{
	struct stat st, o;
	struct dirent *de;
	DIR *d;

	if (fstat(fd, &st) < 0)
		return -errno;
	d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int n = atoi(de->d_name);

		if (de->d_name[0] == '.' || n < ctx->svc_base || n == dirfd(d))
			continue;
		if (fstat(n, &o) == 0 && o.st_dev == st.st_dev && o.st_ino == st.st_ino)
			close(n);
	}
	closedir(d);
	return 0;
}

int locks_restore_task(struct rst_ctx *ctx, struct pstree_item *item)
{
	for (unsigned i = 0; i < ctx->nr_locks; i++) {
		FileLockEntry *e = ctx->locks[i];
		struct flock fl = {
			.l_type = e->type,
			.l_whence = SEEK_SET,
			.l_start = e->start,
			.l_len = e->len,
		};
		int r;

		if (e->pid != (uint32_t)item->pid)
			continue;
		switch (e->kind) {
		case LK_FLOCK:
			r = flock(e->fd, (e->type == F_WRLCK ? LOCK_EX : LOCK_SH) | LOCK_NB);
			break;
		case LK_POSIX:
			r = close_svc_copies(ctx, e->fd);
			if (r < 0) {
				errno = -r;
				r = -1;
				break;
			}
			r = fcntl(e->fd, F_SETLK, &fl);
			break;
		default:
			r = fcntl(e->fd, F_OFD_SETLK, &fl);
			break;
		}
		if (r < 0) {
			pr_perror("pid %d fd %u: cannot take its %s %s lock [%lld +%lld] again", item->pid,
				  e->fd, lk_names[e->kind], e->type == F_WRLCK ? "write" : "read",
				  (long long)e->start, (long long)e->len);
			return -errno;
		}
	}
	return 0;
}
