/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memfd: an open file of a memory-backed file with a name and seals. Every
 * open of the same memfd shares ino; the contents are saved once per memfd
 * (in memfd-data-ID.img of the first entry) and the memfd is re-created
 * with memfd_create, filled, sized and sealed, then every open of it is
 * opened again through /proc/self/fd. A memfd that is only mapped gets an
 * entry without a descriptor, and MAP_SHARED mappings of a memfd use it as
 * their shared memory object, so the mapping and the fds stay one object.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "fd/files.h"
#include "restore/restore.h"

#define MEMFD_PREFIX "/memfd:"
#define DELETED_SUFFIX " (deleted)"
#define MEMFD_NAME_MAX 249
#define ALL_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | 0x20)

/* memfds whose contents were saved in this dump, by inode */
static uint64_t *memfds_done;
static unsigned nr_memfds_done;

void memfd_dump_fini(void)
{
	free(memfds_done);
	memfds_done = NULL;
	nr_memfds_done = 0;
}

static bool memfd_match(const struct fd_parms *p)
{
	return S_ISREG(p->st.st_mode) && !strncmp(p->link, MEMFD_PREFIX, strlen(MEMFD_PREFIX));
}

static int memfd_dump_data(struct dump_ctx *ctx, struct fd_parms *p, int fd, uint32_t id,
			   uint64_t *len)
{
	struct cr_img *img;
	char buf[65536];
	uint64_t off = 0, size = p->st.st_size;
	int ret = 0;

	img = img_open(&ctx->dir, IMG_MEMFD_DATA, id, true);
	if (!img)
		return -EIO;
	while (off < size && !ret) {
		ssize_t n = pread(fd, buf, min_t(uint64_t, size - off, sizeof(buf)), off);

		if (n <= 0) {
			pr_perror("pid %d: cannot read memfd %s", p->pid, p->link);
			ret = -EIO;
			break;
		}
		ret = img_write_raw(img, buf, n);
		off += n;
	}
	*len = off;
	return img_close(img) ?: ret;
}

static int memfd_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	MemfdEntry e = MEMFD_ENTRY__INIT;
	_cleanup_close_ int fd = -1;
	size_t ll = strlen(p->link), sl = strlen(DELETED_SUFFIX), pl = strlen(MEMFD_PREFIX);
	struct statfs sfs;
	bool done = false;
	int seals;

	if (ll < pl + sl || strcmp(p->link + ll - sl, DELETED_SUFFIX) ||
	    ll - sl - pl > MEMFD_NAME_MAX) {
		pr_err("pid %d fd %d: memfd %s is not supported (unexpected name)", p->pid, p->fd,
		       p->link);
		return -ENOTSUP;
	}
	fd = open(p->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("pid %d fd %d: cannot open memfd %s", p->pid, p->fd, p->link);
		return -errno;
	}
	if (fstatfs(fd, &sfs) == 0 && sfs.f_type == HUGETLBFS_MAGIC) {
		pr_err("pid %d fd %d: memfd %s is not supported (hugetlb)", p->pid, p->fd, p->link);
		return -ENOTSUP;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0) {
		pr_perror("pid %d fd %d: cannot read the seals of memfd %s", p->pid, p->fd, p->link);
		return -errno;
	}
	p->link[ll - sl] = '\0';
	e.id = id;
	e.ino = p->st.st_ino;
	e.name = p->link + pl;
	e.flags = p->flags;
	e.pos = p->pos;
	e.size = p->st.st_size;
	e.seals = seals;
	e.has_mode = true;
	e.mode = p->st.st_mode;
	if (p->fd < 0)
		e.has_no_fd = e.no_fd = true;
	for (unsigned i = 0; i < nr_memfds_done; i++)
		if (memfds_done[i] == e.ino)
			done = true;
	if (!done) {
		uint64_t *n = xrealloc_array(memfds_done, nr_memfds_done + 1, sizeof(*n));
		int ret;

		if (!n)
			return -ENOMEM;
		memfds_done = n;
		memfds_done[nr_memfds_done++] = e.ino;
		ret = memfd_dump_data(ctx, p, fd, id, &e.data_len);
		if (ret)
			return ret;
		e.has_data_len = true;
	}
	return img_write_pb(dump_img(ctx, IMG_MEMFD), &e.base);
}

static int memfd_validate(struct rst_ctx *ctx, struct file_obj *f)
{
	MemfdEntry *e = f->msg;

	(void)ctx;
	if (strlen(e->name) > MEMFD_NAME_MAX || (e->seals & ~ALL_SEALS) ||
	    (e->has_data_len && e->data_len > e->size) || e->size > (uint64_t)INT64_MAX) {
		pr_err("memfd.img: memfd %u (%s) has an invalid name, size or seals", e->id, e->name);
		return -EINVAL;
	}
	return 0;
}

/* Create the memfd ino with its contents, size and mode; seals come last. */
static int memfd_create_ino(struct rst_ctx *ctx, MemfdEntry *e, MemfdEntry *data)
{
	struct cr_img *img;
	int fd, ret = 0;
	off_t off = IMG_HDR_SIZE;

	fd = memfd_create(e->name, MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (fd < 0) {
		pr_perror("memfd %s: cannot create", e->name);
		return -errno;
	}
	if (data && data->data_len) {
		img = img_open(&ctx->dir, IMG_MEMFD_DATA, data->id, false);
		if (!img) {
			close(fd);
			return -EINVAL;
		}
		if (img_raw_size(img) != data->data_len) {
			pr_err("image %s: holds %llu bytes, memfd %s had %llu", img->name,
			       (unsigned long long)img_raw_size(img), e->name,
			       (unsigned long long)data->data_len);
			ret = -EINVAL;
		}
		while (!ret && (uint64_t)(off - IMG_HDR_SIZE) < data->data_len) {
			ssize_t n = sendfile(fd, img_raw_fd(img), &off,
					     data->data_len - (off - IMG_HDR_SIZE));

			if (n <= 0) {
				pr_perror("memfd %s: cannot fill", e->name);
				ret = -EIO;
			}
		}
		img_close(img);
	}
	if (!ret && ftruncate(fd, e->size) < 0) {
		pr_perror("memfd %s: cannot size to %llu", e->name, (unsigned long long)e->size);
		ret = -errno;
	}
	if (!ret && e->has_mode && fchmod(fd, e->mode & 07777) < 0) {
		pr_perror("memfd %s: cannot set its mode", e->name);
		ret = -errno;
	}
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static int memfd_reopen(int ifd, MemfdEntry *e)
{
	uint32_t flags = e->flags & ~(O_CREAT | O_TRUNC | O_EXCL | O_NOCTTY | O_APPEND);
	int fd, ret;

	fd = reopen_fd(ifd, flags | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("memfd %s: cannot open again", e->name);
		return -errno;
	}
	if (e->pos && lseek(fd, e->pos, SEEK_SET) < 0) {
		pr_perror("memfd %s: cannot seek to %llu", e->name, (unsigned long long)e->pos);
		close(fd);
		return -errno;
	}
	ret = file_set_flags(fd, e->flags);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static int memfd_open(struct rst_ctx *ctx, struct file_obj *f)
{
	MemfdEntry *e = f->msg, *data = NULL;
	int ifd, ret = 0;

	for (unsigned i = 0; i < ctx->nr_files; i++) {
		struct file_obj *o = &ctx->files[i];
		MemfdEntry *oe = o->msg;

		if (o->ops == &memfd_fd_ops && oe->ino == e->ino && oe->has_data_len)
			data = oe;
	}
	ifd = memfd_create_ino(ctx, e, data);
	if (ifd < 0)
		return ifd;
	/* every open of this memfd, now */
	for (unsigned i = 0; i < ctx->nr_files && !ret; i++) {
		struct file_obj *o = &ctx->files[i];
		MemfdEntry *oe = o->msg;
		int fd;

		if (o->ops != &memfd_fd_ops || oe->ino != e->ino || o->fd >= 0)
			continue;
		fd = memfd_reopen(ifd, oe);
		if (fd < 0) {
			ret = fd;
			break;
		}
		o->fd = rst_svc_fd(ctx, fd);
		if (o->fd < 0)
			ret = o->fd;
	}
	if (!ret && e->seals && fcntl(ifd, F_ADD_SEALS, e->seals) < 0) {
		pr_perror("memfd %s: cannot add seals %#x", e->name, e->seals);
		ret = -errno;
	}
	close(ifd);
	return ret;
}

int memfd_shmem_fd(struct rst_ctx *ctx, uint64_t shmid)
{
	int ret, fd;

	for (unsigned i = 0; i < ctx->nr_files; i++) {
		struct file_obj *o = &ctx->files[i];
		MemfdEntry *oe = o->msg;

		if (o->ops != &memfd_fd_ops || oe->ino != shmid)
			continue;
		ret = file_open_obj(ctx, o);
		if (ret)
			return ret;
		fd = reopen_fd(o->fd, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno == EACCES)
			fd = reopen_fd(o->fd, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			pr_perror("memfd %s: cannot open for its mappings", oe->name);
			return -errno;
		}
		return fd;
	}
	return -ENOENT;
}

const struct fdtype_ops memfd_fd_ops = {
	.type = FD_TYPES__MEMFD,
	.name = "memfd",
	.img = IMG_MEMFD,
	.desc = &memfd_entry__descriptor,
	.match = memfd_match,
	.dump = memfd_dump,
	.validate = memfd_validate,
	.open = memfd_open,
};
