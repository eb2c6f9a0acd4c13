/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pipes and named FIFOs. Each end is an open file; both ends share pipe_id,
 * the pipe's inode. Queued data is copied without consuming it (tee) once per
 * pipe, and written back into the new pipe before any task runs.
 *
 * A pipe whose other end is outside the tree (a shell pipeline feeding it) is
 * dumped like any other; at restore the caller may hand in a pipe of its own
 * for it with --inherit-fd fd[N]:pipe:[INO] (INO: pipe_id). As CRIU does,
 * every end of that pipe is then opened again through /proc/self/fd/N with
 * its saved flags, and the saved data is not written into it: it belonged
 * to the old pipe, whose writer the caller replaced.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/sysmacros.h>

#include "fd/files.h"
#include "restore/restore.h"

/* Pipes whose data was saved already, by inode. */
static uint64_t *pipes_done;
static unsigned nr_pipes_done;

static bool pipe_match(const struct fd_parms *p)
{
	return S_ISFIFO(p->st.st_mode) && !strncmp(p->link, "pipe:[", 6);
}

static bool fifo_match(const struct fd_parms *p)
{
	return S_ISFIFO(p->st.st_mode) && p->link[0] == '/';
}

/* Copy what is queued in the pipe behind procpath into pipes-data-INO.img. */
static int dump_pipe_data(struct dump_ctx *ctx, struct fd_parms *p, uint32_t *size,
			  uint32_t *data_len)
{
	_cleanup_close_ int pfd = -1;
	int tmp[2] = { -1, -1 }, ret = 0;
	struct cr_img *img = NULL;
	uint64_t *n;
	ssize_t len;
	char buf[65536];
	uint32_t total = 0;

	*data_len = 0;
	pfd = open(p->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (pfd < 0) {
		pr_perror("pid %d fd %d: cannot open the pipe to read its data", p->pid, p->fd);
		return -errno;
	}
	ret = fcntl(pfd, F_GETPIPE_SZ);
	if (ret < 0) {
		pr_perror("pid %d fd %d: F_GETPIPE_SZ", p->pid, p->fd);
		return -errno;
	}
	*size = ret;
	ret = 0;
	for (unsigned i = 0; i < nr_pipes_done; i++)
		if (pipes_done[i] == p->st.st_ino)
			return 0;
	n = xrealloc_array(pipes_done, nr_pipes_done + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	pipes_done = n;
	pipes_done[nr_pipes_done++] = p->st.st_ino;

	if (pipe2(tmp, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	if (fcntl(tmp[1], F_SETPIPE_SZ, *size) < 0) {
		pr_perror("pid %d fd %d: cannot size a pipe to copy %u bytes", p->pid, p->fd, *size);
		ret = -errno;
		goto out;
	}
	len = tee(pfd, tmp[1], *size, SPLICE_F_NONBLOCK);
	if (len < 0 && errno != EAGAIN) {
		pr_perror("pid %d fd %d: cannot copy pipe data", p->pid, p->fd);
		ret = -errno;
		goto out;
	}
	if (len <= 0)
		goto out;
	img = img_open(&ctx->dir, IMG_PIPES_DATA, p->st.st_ino, true);
	if (!img) {
		ret = -EIO;
		goto out;
	}
	while (total < (uint32_t)len) {
		ssize_t r = read(tmp[0], buf, sizeof(buf));

		if (r <= 0) {
			ret = -EIO;
			break;
		}
		ret = img_write_raw(img, buf, r);
		if (ret)
			break;
		total += r;
	}
	*data_len = total;
	ret = img_close(img) ?: ret;
out:
	close(tmp[0]);
	close(tmp[1]);
	return ret;
}

static int pipe_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	PipeEntry e = PIPE_ENTRY__INIT;
	int ret;

	e.id = id;
	e.pipe_id = p->st.st_ino;
	e.flags = p->flags;
	e.has_size = e.has_data_len = true;
	ret = dump_pipe_data(ctx, p, &e.size, &e.data_len);
	if (ret)
		return ret;
	return img_write_pb(dump_img(ctx, IMG_PIPES), &e.base);
}

static int fifo_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	FifoEntry e = FIFO_ENTRY__INIT;
	int ret;

	e.id = id;
	e.pipe_id = p->st.st_ino;
	e.flags = p->flags;
	e.path = p->link;
	e.has_size = e.has_data_len = true;
	ret = dump_pipe_data(ctx, p, &e.size, &e.data_len);
	if (ret)
		return ret;
	return img_write_pb(dump_img(ctx, IMG_FIFO), &e.base);
}


/* Write the saved data of pipe pipe_id into the write end wfd. */
static int restore_pipe_data(struct rst_ctx *ctx, uint64_t pipe_id, uint32_t size,
			     uint32_t data_len, int wfd)
{
	struct cr_img *img;
	char buf[65536];
	uint32_t left = data_len;
	int ret = 0, fl;

	if (size && fcntl(wfd, F_SETPIPE_SZ, size) < 0) {
		pr_perror("pipe %llu: cannot set its size to %u", (unsigned long long)pipe_id, size);
		return -errno;
	}
	if (!data_len)
		return 0;
	if (data_len > size) {
		pr_err("pipe %llu: %u bytes of data do not fit in %u", (unsigned long long)pipe_id,
		       data_len, size);
		return -EINVAL;
	}
	img = img_open(&ctx->dir, IMG_PIPES_DATA, pipe_id, false);
	if (!img)
		return -EINVAL;
	if (img_raw_size(img) != data_len) {
		pr_err("image %s: holds %llu bytes, the pipe had %u", img->name,
		       (unsigned long long)img_raw_size(img), data_len);
		img_close(img);
		return -EINVAL;
	}
	fl = fcntl(wfd, F_GETFL);
	fcntl(wfd, F_SETFL, fl | O_NONBLOCK);
	while (left && !ret) {
		uint32_t chunk = min_t(uint32_t, left, sizeof(buf));

		ret = img_read_raw(img, buf, chunk);
		if (!ret && (ret = write_all(wfd, buf, chunk)) < 0)
			pr_err("pipe %llu: cannot write back its data: %s",
			       (unsigned long long)pipe_id, strerror(-ret));
		left -= chunk;
	}
	fcntl(wfd, F_SETFL, fl);
	img_close(img);
	return ret;
}

/* A new open file on the same pipe end as fd, with its own flags. */
static int reopen_end(int fd, uint32_t flags)
{
	return reopen_fd(fd, (flags & ~O_NONBLOCK) | O_NONBLOCK | O_CLOEXEC);
}

static int set_flags(int fd, uint32_t flags)
{
	if (fcntl(fd, F_SETFL, flags & (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)) < 0) {
		pr_perror("cannot set file flags 0%o", flags);
		return -errno;
	}
	return 0;
}

static int pipe_open(struct rst_ctx *ctx, struct file_obj *f)
{
	PipeEntry *e = f->msg;
	int p[2], ret = 0;
	bool rdone = false, wdone = false;
	uint32_t size = 0, data_len = 0;

	if (pipe2(p, O_CLOEXEC) < 0) {
		pr_perror("cannot create a pipe");
		return -errno;
	}
	/* Open every end of this pipe now, the first of each side on the pipe itself. */
	for (unsigned i = 0; i < ctx->nr_files && !ret; i++) {
		struct file_obj *o = &ctx->files[i];
		PipeEntry *oe = o->msg;
		bool rd;
		int fd;

		if (o->ops != &pipe_fd_ops || oe->pipe_id != e->pipe_id)
			continue;
		if (oe->has_data_len && oe->data_len) {
			data_len = oe->data_len;
			size = oe->size;
		} else if (oe->has_size && !size) {
			size = oe->size;
		}
		rd = (oe->flags & O_ACCMODE) == O_RDONLY;
		if (rd && !rdone) {
			fd = fcntl(p[0], F_DUPFD_CLOEXEC, 0);
			rdone = true;
		} else if (!rd && !wdone) {
			fd = fcntl(p[1], F_DUPFD_CLOEXEC, 0);
			wdone = true;
		} else {
			fd = reopen_end(rd ? p[0] : p[1], oe->flags);
		}
		if (fd < 0) {
			pr_perror("pipe %llu: cannot open an end", (unsigned long long)e->pipe_id);
			ret = -errno;
			break;
		}
		ret = set_flags(fd, oe->flags);
		if (!ret) {
			o->fd = rst_svc_fd(ctx, fd);
			if (o->fd < 0)
				ret = o->fd;
		} else {
			close(fd);
		}
	}
	if (!ret)
		ret = restore_pipe_data(ctx, e->pipe_id, size, data_len, p[1]);
	close(p[0]);
	close(p[1]);
	return ret;
}

static int fifo_open(struct rst_ctx *ctx, struct file_obj *f)
{
	FifoEntry *e = f->msg;
	_cleanup_close_ int keeper = -1;
	int fd, ret;

	/* Holding both ends open keeps the FIFO's buffer while the ends are opened. */
	keeper = open(e->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (keeper < 0) {
		pr_perror("fifo %s: cannot open", e->path);
		return -errno;
	}
	if (e->has_data_len && e->data_len) {
		ret = restore_pipe_data(ctx, e->pipe_id, e->size, e->data_len, keeper);
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < ctx->nr_files; i++) {
		struct file_obj *o = &ctx->files[i];
		FifoEntry *oe = o->msg;

		if (o->ops != &fifo_fd_ops || oe->pipe_id != e->pipe_id || o->fd >= 0)
			continue;
		fd = open(oe->path, (oe->flags & ~(O_CREAT | O_TRUNC)) | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			pr_perror("fifo %s: cannot open", oe->path);
			return -errno;
		}
		ret = set_flags(fd, oe->flags);
		if (ret) {
			close(fd);
			return ret;
		}
		o->fd = rst_svc_fd(ctx, fd);
		if (o->fd < 0)
			return o->fd;
	}
	return 0;
}

static int pipe_key(const struct file_obj *f, char *buf, size_t len)
{
	PipeEntry *e = f->msg;

	snprintf(buf, len, "pipe:[%llu]", (unsigned long long)e->pipe_id);
	return 0;
}

static int fifo_key(const struct file_obj *f, char *buf, size_t len)
{
	FifoEntry *e = f->msg;

	return inherit_path_key(e->path, buf, len) ?: 0;
}

/* An end of the caller's pipe, opened again with this end's flags. */
static int reopen_inherited(struct file_obj *f, int fd, uint32_t flags, uint32_t data_len,
			    const char *key)
{
	struct stat st;
	int nfd, ret;

	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		pr_err("--inherit-fd fd[%d]:%s: descriptor %d is not a pipe", fd, key, fd);
		return -EINVAL;
	}
	if (data_len)
		pr_warn("%s: %u bytes queued at dump are not written into the inherited pipe", key,
			data_len);
	nfd = reopen_end(fd, flags & ~(O_CREAT | O_TRUNC | O_EXCL));
	if (nfd < 0) {
		pr_perror("%s: cannot open the inherited fd %d again for %s", key, fd,
			  (flags & O_ACCMODE) == O_RDONLY ? "reading" : "writing");
		return -errno;
	}
	ret = set_flags(nfd, flags);
	if (ret) {
		close(nfd);
		return ret;
	}
	(void)f;
	return nfd;
}

static int pipe_inherit(struct rst_ctx *ctx, struct file_obj *f, int fd)
{
	PipeEntry *e = f->msg;
	char key[64];

	(void)ctx;
	pipe_key(f, key, sizeof(key));
	return reopen_inherited(f, fd, e->flags, e->has_data_len ? e->data_len : 0, key);
}

static int fifo_inherit(struct rst_ctx *ctx, struct file_obj *f, int fd)
{
	FifoEntry *e = f->msg;

	(void)ctx;
	return reopen_inherited(f, fd, e->flags, e->has_data_len ? e->data_len : 0, e->path);
}

const struct fdtype_ops pipe_fd_ops = {
	.type = FD_TYPES__PIPE,
	.name = "pipe",
	.img = IMG_PIPES,
	.desc = &pipe_entry__descriptor,
	.match = pipe_match,
	.dump = pipe_dump,
	.open = pipe_open,
	.key = pipe_key,
	.inherit = pipe_inherit,
};

const struct fdtype_ops fifo_fd_ops = {
	.type = FD_TYPES__FIFO,
	.name = "fifo",
	.img = IMG_FIFO,
	.desc = &fifo_entry__descriptor,
	.match = fifo_match,
	.dump = fifo_dump,
	.open = fifo_open,
	.key = fifo_key,
	.inherit = fifo_inherit,
};
