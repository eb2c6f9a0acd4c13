/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inherited descriptors (--inherit-fd fd[N]:KEY, CRIU's spelling). The caller
 * of a restore hands in descriptors of its own, each under a key, and every
 * file object of the images whose kind gives it that key is made from the
 * caller's descriptor instead of being opened: by default a dup of it (the
 * tasks share the caller's open file), or as the kind says (a pipe end is
 * opened again through /proc/self/fd/N with its saved flags). Keys are the
 * kinds' own: "tty[RDEV:DEV]" for a terminal, "pipe:[INO]" for a pipe, a
 * path for a file (CRIU writes it without the leading '/'; both match).
 *
 * An object declared external at dump (a terminal whose master is held
 * outside the tree) must be inherited: a restore without a descriptor for
 * its key fails here, before any process exists, naming the key.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "fd/files.h"
#include "restore/restore.h"

#define INHERIT_KEY_MAX	4096

int inherit_path_key(const char *path, char *buf, size_t len)
{
	if (!path || !path[0] || strlen(path) >= len)
		return -ENOENT;
	strcpy(buf, path);
	return 0;
}

/* Does the caller's key name the object's? A path may lose its leading '/'. */
static bool key_match(const char *obj, const char *given)
{
	if (!strcmp(obj, given))
		return true;
	return obj[0] == '/' && given[0] != '/' && !strcmp(obj + 1, given);
}

static int check_opts(const struct crc_restore_opts *o)
{
	if (o->nr_inherit_fds && !o->inherit_fds) {
		pr_err("%u inherited descriptors announced, none given", o->nr_inherit_fds);
		return -EINVAL;
	}
	for (unsigned i = 0; i < o->nr_inherit_fds; i++) {
		const struct crc_inherit_fd *in = &o->inherit_fds[i];

		if (!in->key || !in->key[0] || strlen(in->key) >= INHERIT_KEY_MAX) {
			pr_err("--inherit-fd fd[%d]: the key is empty or too long", in->fd);
			return -EINVAL;
		}
		if (in->fd < 0) {
			pr_err("--inherit-fd fd[%d]:%s: invalid descriptor number", in->fd, in->key);
			return -EBADF;
		}
		if (fcntl(in->fd, F_GETFD) < 0) {
			pr_err("--inherit-fd fd[%d]:%s: descriptor %d is not open in lxc-cr", in->fd,
			       in->key, in->fd);
			return -EBADF;
		}
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(o->inherit_fds[j].key, in->key)) {
				pr_err("--inherit-fd %s is given twice (fd %d and fd %d)", in->key,
				       o->inherit_fds[j].fd, in->fd);
				return -EINVAL;
			}
	}
	return 0;
}

/* The caller's descriptor must be of the kind it stands for: said now, before
 * anything exists, rather than when it is opened. */
static int inherit_fits(const struct file_obj *f, int fd, const char *key)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		pr_perror("--inherit-fd fd[%d]:%s: cannot stat it", fd, key);
		return -errno;
	}
	if (f->ops->type == FD_TYPES__TTY && !isatty(fd)) {
		pr_err("--inherit-fd fd[%d]:%s: descriptor %d is not a terminal", fd, key, fd);
		return -ENOTTY;
	}
	if ((f->ops->type == FD_TYPES__PIPE || f->ops->type == FD_TYPES__FIFO) &&
	    !S_ISFIFO(st.st_mode)) {
		pr_err("--inherit-fd fd[%d]:%s: descriptor %d is not a pipe", fd, key, fd);
		return -EINVAL;
	}
	return 0;
}

int inherit_collect(struct rst_ctx *ctx)
{
	const struct crc_restore_opts *o = ctx->opts;
	_cleanup_free_ bool *used = NULL;
	char key[INHERIT_KEY_MAX];
	int ret;

	ret = check_opts(o);
	if (ret)
		return ret;
	if (o->nr_inherit_fds) {
		used = xzalloc(sizeof(*used) * o->nr_inherit_fds);
		if (!used)
			return -ENOMEM;
	}
	for (unsigned i = 0; i < ctx->nr_files; i++) {
		struct file_obj *f = &ctx->files[i];
		int need;

		if (!f->ops->key)
			continue;
		need = f->ops->key(f, key, sizeof(key));
		if (need < 0)
			continue;
		for (unsigned j = 0; j < o->nr_inherit_fds && f->inherit < 0; j++)
			if (key_match(key, o->inherit_fds[j].key)) {
				f->inherit = o->inherit_fds[j].fd;
				used[j] = true;
			}
		if (f->inherit < 0 && need) {
			pr_err("%s %s was external at dump: restore needs --inherit-fd fd[N]:%s, N being a descriptor of the caller in its place",
			       f->ops->name, key, key);
			return -ENOENT;
		}
		if (f->inherit >= 0 && (ret = inherit_fits(f, f->inherit, key)) < 0)
			return ret;
		if (f->inherit >= 0)
			pr_info("%s %u (%s) comes from the caller's fd %d", f->ops->name, f->id, key,
				f->inherit);
	}
	for (unsigned j = 0; j < o->nr_inherit_fds; j++)
		if (!used[j])
			pr_warn("--inherit-fd fd[%d]:%s: no file of the images has this key",
				o->inherit_fds[j].fd, o->inherit_fds[j].key);
	return 0;
}

int inherit_open(struct rst_ctx *ctx, struct file_obj *f)
{
	int fd, ret;

	if (f->ops->inherit) {
		ret = f->ops->inherit(ctx, f, f->inherit);
		if (ret < 0)
			return ret;
		fd = ret;
	} else {
		fd = fcntl(f->inherit, F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			pr_perror("%s %u: cannot duplicate the inherited fd %d", f->ops->name, f->id,
				  f->inherit);
			return -errno;
		}
	}
	f->fd = rst_svc_fd(ctx, fd);
	return f->fd < 0 ? f->fd : 0;
}
