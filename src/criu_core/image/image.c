/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "image/image.h"

#define IMG_WBUF_SIZE (1u << 20)

const struct img_desc img_descs[IMG_TYPE_MAX] = {
	[IMG_INVENTORY]   = { "inventory.img",    0x58494e56, false, false },
	[IMG_PSTREE]      = { "pstree.img",       0x58505354, false, false },
	[IMG_CORE]        = { "core-%u.img",      0x58434f52, false, true },
	[IMG_PAGEMAP]     = { "pagemap-%u.img",   0x58504d50, false, true },
	[IMG_PAGES]       = { "pages-%u.img",     0x58504753, true,  true, true },
	[IMG_REG_FILES]   = { "reg-files.img",    0x58524547, false, false },
	[IMG_GHOST]       = { "ghost-%u.img",     0x58474853, true,  true },
	[IMG_PIPES]       = { "pipes.img",        0x58504950, false, false },
	[IMG_PIPES_DATA]  = { "pipes-data-%u.img", 0x58504444, true, true },
	[IMG_FIFO]        = { "fifo.img",         0x58464946, false, false },
	[IMG_UNIXSK]      = { "unixsk.img",       0x58554e58, false, false },
	[IMG_INETSK]      = { "inetsk.img",       0x58494e45, false, false },
	[IMG_EVENTFD]     = { "eventfd.img",      0x58455646, false, false },
	[IMG_EPOLL]       = { "eventpoll.img",    0x5845504c, false, false },
	[IMG_SIGNALFD]    = { "signalfd.img",     0x58534746, false, false },
	[IMG_TIMERFD]     = { "timerfd.img",      0x58544d46, false, false },
	[IMG_INOTIFY]     = { "inotify.img",      0x58494e4f, false, false },
	[IMG_TTY]         = { "tty.img",          0x58545459, false, false },
	[IMG_MEMFD]       = { "memfd.img",        0x584d4644, false, false },
	[IMG_PIDFD]       = { "pidfd.img",        0x58504944, false, false },
	[IMG_FILE_LOCKS]  = { "file-locks.img",   0x58464c4b, false, false },
	[IMG_SK_QUEUES]   = { "sk-queue-%u.img",  0x58534b51, true,  true },
	[IMG_TCP_STREAM]  = { "tcp-stream-%u.img", 0x58544353, false, true },
	[IMG_SHMEM_PAGES] = { "shmem-%u.img",     0x5853484d, true,  true },
	[IMG_MEMFD_DATA]  = { "memfd-data-%u.img", 0x584d4444, true,  true },
	[IMG_NS]          = { "ns.img",           0x584e5350, false, false },
	[IMG_CGROUP]      = { "cgroup.img",       0x58434750, false, false },
	[IMG_TMPFS]       = { "tmpfs-%u.img",     0x58544d50, false, true },
	[IMG_MQUEUE]      = { "mqueue.img",       0x584d5146, false, false },
	[IMG_FUSE]        = { "fuse.img",         0x58465553, false, false },
	[IMG_FUSE_MNT]    = { "fuse-mnt.img",     0x58464d54, false, false },
	[IMG_FUSE_EXT]    = { "fuse-ext.img",     0x58465845, false, false },
};

int img_type_by_magic(uint32_t magic)
{
	for (int i = 0; i < IMG_TYPE_MAX; i++)
		if (img_descs[i].magic == magic)
			return i;
	return -1;
}

static void img_name(enum img_type type, unsigned id, char *buf, size_t len)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (img_descs[type].per_id)
		snprintf(buf, len, img_descs[type].fmt, id);
	else
#pragma GCC diagnostic pop
		snprintf(buf, len, "%s", img_descs[type].fmt);
}

int img_dir_open(struct img_dir *d, const char *path, bool for_write)
{
	memset(d, 0, sizeof(*d));
	d->wdfd = -1;
	d->dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dfd < 0) {
		int e = errno;

		pr_err("image directory %s: %s", path, strerror(e));
		return -e;
	}
	d->path = xstrdup(path);
	if (!for_write)
		return 0;
	d->tmpname = xsprintf(".lxc-cr-dump.%d", getpid());
	if (!d->tmpname || !d->path)
		return -ENOMEM;
	if (mkdirat(d->dfd, d->tmpname, 0700) < 0 && errno != EEXIST) {
		int e = errno;

		pr_err("image directory %s: cannot create a temporary directory: %s", path, strerror(e));
		return -e;
	}
	d->wdfd = openat(d->dfd, d->tmpname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->wdfd < 0) {
		int e = errno;

		pr_perror("open %s/%s", path, d->tmpname);
		return -e;
	}
	return 0;
}

int img_dir_commit(struct img_dir *d)
{
	if (d->wdfd < 0)
		return 0;
	if (fsync(d->wdfd) < 0) {
		pr_perror("fsync %s/%s", d->path, d->tmpname);
		return -errno;
	}
	for (unsigned i = 0; i < d->nr_written; i++) {
		if (renameat(d->wdfd, d->written[i], d->dfd, d->written[i]) < 0) {
			pr_perror("rename %s into %s", d->written[i], d->path);
			return -errno;
		}
	}
	if (fsync(d->dfd) < 0) {
		pr_perror("fsync %s", d->path);
		return -errno;
	}
	close(d->wdfd);
	d->wdfd = -1;
	unlinkat(d->dfd, d->tmpname, AT_REMOVEDIR);
	return 0;
}

void img_dir_abort(struct img_dir *d)
{
	if (d->wdfd < 0)
		return;
	for (unsigned i = 0; i < d->nr_written; i++)
		unlinkat(d->wdfd, d->written[i], 0);
	close(d->wdfd);
	d->wdfd = -1;
	unlinkat(d->dfd, d->tmpname, AT_REMOVEDIR);
}

void img_dir_close(struct img_dir *d)
{
	img_dir_abort(d);
	if (d->dfd >= 0)
		close(d->dfd);
	d->dfd = -1;
	for (unsigned i = 0; i < d->nr_written; i++)
		free(d->written[i]);
	free(d->written);
	free(d->path);
	free(d->tmpname);
	memset(d, 0, sizeof(*d));
	d->dfd = d->wdfd = -1;
}

static struct cr_img *__img_open(struct img_dir *d, enum img_type type, unsigned id,
				 bool write, bool optional)
{
	struct cr_img *img = xzalloc(sizeof(*img));
	uint32_t hdr[2];
	struct stat st;

	if (!img)
		return NULL;
	img->type = type;
	img->write = write;
	img_name(type, id, img->name, sizeof(img->name));
	if (write) {
		char **w;

		img->fd = openat(d->wdfd, img->name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (img->fd < 0) {
			pr_perror("image %s/%s: cannot create", d->path, img->name);
			goto err;
		}
		w = xrealloc_array(d->written, d->nr_written + 1, sizeof(char *));
		if (!w)
			goto err;
		d->written = w;
		d->written[d->nr_written++] = xstrdup(img->name);
		img->buf = malloc(IMG_WBUF_SIZE);
		if (!img->buf)
			goto err;
		hdr[0] = img_descs[type].magic;
		hdr[1] = IMG_VERSION;
		memset(img->buf, 0, img_data_off(img));
		memcpy(img->buf, hdr, sizeof(hdr));
		img->buf_len = img_data_off(img);
		return img;
	}

	/* O_NONBLOCK: a FIFO put where an image should be must be refused, not waited on */
	img->fd = openat(d->dfd, img->name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (img->fd < 0) {
		if (optional && errno == ENOENT) {
			free(img);
			errno = ENOENT;
			return NULL;
		}
		pr_perror("image %s/%s: cannot open", d->path, img->name);
		goto err;
	}
	if (fstat(img->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pr_err("image %s/%s: not a regular file", d->path, img->name);
		errno = EINVAL;
		goto err;
	}
	if (fcntl(img->fd, F_SETFL, 0) < 0) {
		pr_perror("image %s/%s: fcntl", d->path, img->name);
		goto err;
	}
	img->size = st.st_size;
	if (read_all(img->fd, hdr, sizeof(hdr)) < 0) {
		pr_err("image %s/%s: truncated header", d->path, img->name);
		errno = EINVAL;
		goto err;
	}
	if (hdr[0] != img_descs[type].magic) {
		pr_err("image %s/%s: bad magic 0x%08x (expected 0x%08x)", d->path, img->name,
		       hdr[0], img_descs[type].magic);
		errno = EINVAL;
		goto err;
	}
	if (hdr[1] != IMG_VERSION) {
		pr_err("image %s/%s: unsupported version %u (this lxc-cr reads version %u)",
		       d->path, img->name, hdr[1], IMG_VERSION);
		errno = EINVAL;
		goto err;
	}
	img->off = img_data_off(img);
	if (img->size < img->off) {
		pr_err("image %s/%s: truncated header", d->path, img->name);
		errno = EINVAL;
		goto err;
	}
	if (img->off != IMG_HDR_SIZE && lseek(img->fd, img->off, SEEK_SET) < 0)
		goto err;
	return img;
err:
	if (img->fd >= 0)
		close(img->fd);
	free(img->buf);
	free(img);
	return NULL;
}

struct cr_img *img_open(struct img_dir *d, enum img_type type, unsigned id, bool write)
{
	return __img_open(d, type, id, write, false);
}

struct cr_img *img_open_optional(struct img_dir *d, enum img_type type, unsigned id)
{
	return __img_open(d, type, id, false, true);
}

int img_flush(struct cr_img *img)
{
	int ret;

	if (!img->write || !img->buf_len)
		return 0;
	ret = write_all(img->fd, img->buf, img->buf_len);
	if (ret < 0) {
		pr_err("image %s: write failed: %s", img->name, strerror(-ret));
		return ret;
	}
	img->buf_len = 0;
	return 0;
}

int img_close(struct cr_img *img)
{
	int ret = 0;

	if (!img)
		return 0;
	if (img->write) {
		ret = img_flush(img);
		if (!ret && fsync(img->fd) < 0) {
			ret = -errno;
			pr_perror("image %s: fsync", img->name);
		}
	}
	close(img->fd);
	free(img->buf);
	free(img);
	return ret;
}

int img_write_raw(struct cr_img *img, const void *buf, size_t len)
{
	if (img->buf_len + len > IMG_WBUF_SIZE) {
		int ret = img_flush(img);

		if (ret)
			return ret;
		if (len > IMG_WBUF_SIZE) {
			ret = write_all(img->fd, buf, len);
			if (ret < 0)
				pr_err("image %s: write failed: %s", img->name, strerror(-ret));
			return ret;
		}
	}
	memcpy(img->buf + img->buf_len, buf, len);
	img->buf_len += len;
	return 0;
}

int img_write_pb(struct cr_img *img, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint32_t hdr = len;
	uint8_t *p;
	int ret;

	if (len > IMG_MAX_ENTRY) {
		pr_err("image %s: record of %zu bytes exceeds the limit", img->name, len);
		return -E2BIG;
	}
	ret = img_write_raw(img, &hdr, sizeof(hdr));
	if (ret)
		return ret;
	if (img->buf_len + len <= IMG_WBUF_SIZE) {
		protobuf_c_message_pack(msg, img->buf + img->buf_len);
		img->buf_len += len;
		return 0;
	}
	p = malloc(len ? len : 1);
	if (!p)
		return -ENOMEM;
	protobuf_c_message_pack(msg, p);
	ret = img_write_raw(img, p, len);
	free(p);
	return ret;
}

int img_read_pb(struct cr_img *img, const ProtobufCMessageDescriptor *desc, void **out)
{
	uint32_t len;
	uint8_t *p;
	ssize_t r;
	int ret;

	*out = NULL;
	r = read(img->fd, &len, sizeof(len));
	if (r == 0)
		return 0;
	if (r != sizeof(len)) {
		pr_err("image %s: truncated record header at offset %llu", img->name,
		       (unsigned long long)img->off);
		return -EINVAL;
	}
	img->off += sizeof(len);
	if (len > IMG_MAX_ENTRY || len > img->size - img->off) {
		pr_err("image %s: record at offset %llu claims %u bytes, beyond the file or the limit",
		       img->name, (unsigned long long)img->off - 4, len);
		return -EINVAL;
	}
	p = malloc(len ? len : 1);
	if (!p)
		return -ENOMEM;
	ret = read_all(img->fd, p, len);
	if (ret < 0) {
		pr_err("image %s: truncated record at offset %llu", img->name,
		       (unsigned long long)img->off);
		free(p);
		return -EINVAL;
	}
	*out = protobuf_c_message_unpack(desc, NULL, len, p);
	free(p);
	if (!*out) {
		pr_err("image %s: corrupted %s record at offset %llu", img->name, desc->name,
		       (unsigned long long)img->off);
		return -EINVAL;
	}
	img->off += len;
	return 1;
}

int img_read_one(struct cr_img *img, const ProtobufCMessageDescriptor *desc, void **out)
{
	int ret = img_read_pb(img, desc, out);

	if (ret == 0) {
		pr_err("image %s: no %s record", img->name, desc->name);
		return -EINVAL;
	}
	return ret < 0 ? ret : 0;
}

void img_free_pb(void *msg)
{
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

int img_read_raw(struct cr_img *img, void *buf, size_t len)
{
	int ret = read_all(img->fd, buf, len);

	if (ret < 0) {
		pr_err("image %s: truncated data at offset %llu", img->name,
		       (unsigned long long)img->off);
		return -EINVAL;
	}
	img->off += len;
	return 0;
}

int img_raw_fd(struct cr_img *img) { return img->fd; }

uint64_t img_data_off(const struct cr_img *img)
{
	return img_descs[img->type].aligned ? IMG_PAGES_DATA_OFF : IMG_HDR_SIZE;
}

uint64_t img_raw_size(struct cr_img *img)
{
	uint64_t off = img_data_off(img);

	return img->size > off ? img->size - off : 0;
}
