/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * inotify: each watch is dumped with its mask and the path of its inode,
 * found from the file handle fdinfo shows. Watches are added back in
 * increasing wd order; the kernel hands out wd numbers cyclically, so a
 * number that was skipped is used up by a watch added and removed at once
 * (its IN_IGNORED event drained) to keep every wd as it was.
 */
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/sysmacros.h>

#include "fd/files.h"
#include "restore/restore.h"

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif
#define INOTIFY_MAX_WDS 65536
#define KDEV_MAJOR(d) ((unsigned)((d) >> 20))
#define KDEV_MINOR(d) ((unsigned)((d) & 0xfffff))

static bool inotify_match(const struct fd_parms *p)
{
	return p->fd >= 0 && !strcmp(p->link, "anon_inode:inotify");
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		unsigned c;

		if (s[0] == '\\' && sscanf(s + 1, "%3o", &c) == 1 && s[1] && s[2] && s[3]) {
			*d++ = c;
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* The path of the inode behind a file handle on device sdev, as process pid
 * sees it: through its mounts (/proc/PID/mountinfo, reached from
 * /proc/PID/root), not lxc-cr's. */
static int handle_path(pid_t pid, uint64_t sdev, uint64_t ino, uint32_t fh_type, const uint8_t *fh,
		       size_t fh_len, char *out, size_t outlen)
{
	char mipath[64];

	_cleanup_free_ struct file_handle *h = xzalloc(sizeof(*h) + fh_len);
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	FILE *mi;
	int ret = -ENOENT;

	if (!h)
		return -ENOMEM;
	h->handle_bytes = fh_len;
	h->handle_type = fh_type;
	memcpy(h->f_handle, fh, fh_len);
	snprintf(mipath, sizeof(mipath), "/proc/%d/mountinfo", pid);
	mi = fopen(mipath, "re");
	if (!mi)
		return -errno;
	while (ret && getline(&line, &cap, mi) > 0) {
		unsigned maj, min;
		char root[PATH_MAX], mnt[PATH_MAX], link[64], top[PATH_MAX + 64];
		int mfd, fd;
		struct stat st;
		ssize_t n;

		if (sscanf(line, "%*d %*d %u:%u %4095s %4095s", &maj, &min, root, mnt) != 4 ||
		    maj != KDEV_MAJOR(sdev) || min != KDEV_MINOR(sdev))
			continue;
		unescape(mnt);
		snprintf(top, sizeof(top), "/proc/%d/root%s", pid, mnt);
		mfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mfd < 0)
			continue;
		fd = open_by_handle_at(mfd, h, O_PATH | O_CLOEXEC);
		close(mfd);
		if (fd < 0)
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, out, outlen - 1);
		if (n <= 0 || fstat(fd, &st) < 0) {
			close(fd);
			continue;
		}
		close(fd);
		out[n] = '\0';
		/* the path must lead there again from the process's root */
		snprintf(top, sizeof(top), "/proc/%d/root%s", pid, out);
		if (out[0] == '/' && st.st_ino == ino && lstat(top, &st) == 0 && st.st_ino == ino)
			ret = 0;
	}
	fclose(mi);
	return ret;
}

static int hex_bytes(const char *s, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -EINVAL;
		out[i] = b;
	}
	return 0;
}

static void free_wds(InotifyEntry *e)
{
	for (size_t i = 0; i < e->n_wds; i++) {
		free(e->wds[i]->path);
		free(e->wds[i]->f_handle.data);
		free(e->wds[i]);
	}
	free(e->wds);
}

static int inotify_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	InotifyEntry e = INOTIFY_ENTRY__INIT;
	_cleanup_free_ char *info = xstrdup(p->fdinfo);
	char *line, *save = NULL;
	int ret = 0;

	if (!info)
		return -ENOMEM;
	e.id = id;
	e.flags = p->flags;
	for (line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned wd, mask, imask, fhb, fht;
		unsigned long long ino, sdev;
		char hex[260], path[PATH_MAX];
		InotifyWdEntry *w, **n;

		if (strncmp(line, "inotify wd:", 11))
			continue;
		if (sscanf(line, "inotify wd:%x ino:%llx sdev:%llx mask:%x ignored_mask:%x fhandle-bytes:%x fhandle-type:%x f_handle:%258s",
			   &wd, &ino, &sdev, &mask, &imask, &fhb, &fht, hex) != 8 || fhb > 128 ||
		    strlen(hex) != 2 * fhb) {
			pr_err("pid %d fd %d: cannot parse inotify watch '%s'", p->pid, p->fd, line);
			ret = -EINVAL;
			break;
		}
		w = xzalloc(sizeof(*w));
		n = xrealloc_array(e.wds, e.n_wds + 1, sizeof(*n));
		if (n)
			e.wds = n;
		if (!w || !n) {
			free(w);
			ret = -ENOMEM;
			break;
		}
		inotify_wd_entry__init(w);
		e.wds[e.n_wds++] = w;
		w->wd = wd;
		w->mask = mask;
		w->ignored_mask = imask;
		w->s_dev = sdev;
		w->ino = ino;
		w->has_fh_type = true;
		w->fh_type = fht;
		w->has_f_handle = true;
		w->f_handle.len = fhb;
		w->f_handle.data = xzalloc(fhb + 1);
		if (!w->f_handle.data) {
			ret = -ENOMEM;
			break;
		}
		if (hex_bytes(hex, w->f_handle.data, fhb) ||
		    handle_path(p->pid, sdev, ino, fht, w->f_handle.data, fhb, path, sizeof(path))) {
			pr_err("pid %d fd %d: inotify watch %u is not supported (no path to inode %llu on device %u:%u)",
			       p->pid, p->fd, wd, ino, KDEV_MAJOR(sdev), KDEV_MINOR(sdev));
			ret = -ENOTSUP;
			break;
		}
		w->path = xstrdup(path);
		if (!w->path) {
			ret = -ENOMEM;
			break;
		}
	}
	if (!ret)
		ret = img_write_pb(dump_img(ctx, IMG_INOTIFY), &e.base);
	free_wds(&e);
	return ret;
}

static int cmp_wd(const void *a, const void *b)
{
	const InotifyWdEntry *x = *(InotifyWdEntry *const *)a, *y = *(InotifyWdEntry *const *)b;

	return x->wd < y->wd ? -1 : x->wd > y->wd;
}

static int inotify_validate(struct rst_ctx *ctx, struct file_obj *f)
{
	InotifyEntry *e = f->msg;

	(void)ctx;
	if (e->n_wds > INOTIFY_MAX_WDS) {
		pr_err("inotify.img: inotify %u has %zu watches", e->id, e->n_wds);
		return -EINVAL;
	}
	qsort(e->wds, e->n_wds, sizeof(*e->wds), cmp_wd);
	for (size_t i = 0; i < e->n_wds; i++) {
		InotifyWdEntry *w = e->wds[i];

		if (!w->wd || w->wd > INT_MAX || (i && w->wd == e->wds[i - 1]->wd) ||
		    w->path[0] != '/') {
			pr_err("inotify.img: inotify %u: watch %u is invalid", e->id, w->wd);
			return -EINVAL;
		}
	}
	return 0;
}

static void drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* Use up one wd number with a watch added and removed at once. */
static int burn_wd(int fd, int *next)
{
	static const char *const spare[] = { "/", "/proc", "/dev", "/sys", "/run", "/tmp" };

	for (unsigned i = 0; i < ARRAY_SIZE(spare); i++) {
		int wd = inotify_add_watch(fd, spare[i], IN_DELETE_SELF | IN_MASK_CREATE | IN_DONT_FOLLOW);

		if (wd < 0 && errno == EEXIST)
			continue;
		if (wd < 0) {
			pr_perror("inotify: cannot add a watch to skip wd %d", *next);
			return -errno;
		}
		inotify_rm_watch(fd, wd);
		drain(fd);
		*next = wd + 1;
		return 0;
	}
	pr_err("inotify: no spare inode to skip wd %d", *next);
	return -EBUSY;
}

static int add_wd(int fd, InotifyWdEntry *w, int *next)
{
	struct stat st;
	int wd, ret;

	while (*next < (int)w->wd) {
		ret = burn_wd(fd, next);
		if (ret)
			return ret;
	}
	if (lstat(w->path, &st) < 0 || st.st_ino != w->ino)
		pr_warn("inotify: %s is not the inode %llu it was", w->path,
			(unsigned long long)w->ino);
	wd = inotify_add_watch(fd, w->path, w->mask | IN_DONT_FOLLOW);
	if (wd < 0) {
		pr_perror("inotify: cannot watch %s", w->path);
		return -errno;
	}
	if (wd != (int)w->wd) {
		pr_err("inotify: watch of %s got wd %d, it had %u", w->path, wd, w->wd);
		return -EINVAL;
	}
	*next = wd + 1;
	return 0;
}

static int inotify_open(struct rst_ctx *ctx, struct file_obj *f)
{
	InotifyEntry *e = f->msg;
	int fd, ret = 0, next = 1;

	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		pr_perror("inotify %u: cannot create", e->id);
		return -errno;
	}
	for (size_t i = 0; i < e->n_wds && !ret; i++)
		ret = add_wd(fd, e->wds[i], &next);
	if (!ret)
		ret = file_set_flags(fd, e->flags);
	if (ret) {
		pr_err("inotify %u: cannot restore its watches", e->id);
		close(fd);
		return ret;
	}
	f->fd = rst_svc_fd(ctx, fd);
	return f->fd < 0 ? f->fd : 0;
}

const struct fdtype_ops inotify_fd_ops = {
	.type = FD_TYPES__INOTIFY,
	.name = "inotify",
	.img = IMG_INOTIFY,
	.desc = &inotify_entry__descriptor,
	.match = inotify_match,
	.dump = inotify_dump,
	.validate = inotify_validate,
	.open = inotify_open,
};
