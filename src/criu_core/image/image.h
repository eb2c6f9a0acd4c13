/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Image files. Every image starts with a header (magic, version); protobuf
 * images then hold a sequence of (u32 length, message) records, raw images
 * hold bytes whose layout a companion protobuf image describes. Only this
 * layer touches image bytes; it bounds every length it reads.
 */
#ifndef CRCORE_IMAGE_H
#define CRCORE_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#define IMG_VERSION		1
#define IMG_MAX_ENTRY		(64u << 20)	/* one protobuf record */
#define IMG_HDR_SIZE		8
#define IMG_PAGES_DATA_OFF	4096	/* pages images: data page-aligned in the file */

/* inventory flags */
#define INV_F_SHELL_JOB		0x1
#define INV_F_TCP_ESTABLISHED	0x2
#define INV_F_FILE_LOCKS	0x4
#define INV_F_EXT_UNIX_SK	0x8

enum img_type {
	IMG_INVENTORY,
	IMG_PSTREE,
	IMG_CORE,
	IMG_PAGEMAP,
	IMG_PAGES,		/* raw */
	IMG_REG_FILES,
	IMG_GHOST,		/* raw: contents of a deleted file */
	IMG_PIPES,
	IMG_PIPES_DATA,		/* raw */
	IMG_FIFO,
	IMG_UNIXSK,
	IMG_INETSK,
	IMG_EVENTFD,
	IMG_EPOLL,
	IMG_SIGNALFD,
	IMG_TIMERFD,
	IMG_INOTIFY,
	IMG_TTY,
	IMG_MEMFD,
	IMG_PIDFD,
	IMG_FILE_LOCKS,
	IMG_SK_QUEUES,		/* raw */
	IMG_TCP_STREAM,
	IMG_SHMEM_PAGES,	/* raw */
	IMG_MEMFD_DATA,		/* raw: contents of a memfd, per memfd-entry id */
	IMG_NS,
	IMG_CGROUP,
	IMG_TMPFS,		/* contents of a tmpfs mount, per mnt-entry id */
	IMG_MQUEUE,
	IMG_FUSE,
	IMG_FUSE_MNT,
	IMG_FUSE_EXT,
	IMG_TYPE_MAX,
};

struct img_desc {
	const char *fmt;	/* file name; "%u" takes the id where there is one */
	uint32_t magic;
	bool raw;
	bool per_id;
	bool aligned;	/* raw data starts at IMG_PAGES_DATA_OFF */
};

extern const struct img_desc img_descs[IMG_TYPE_MAX];

struct img_dir {
	int dfd;		/* the user's image directory */
	int wdfd;		/* where new images are written (temporary) */
	char *path;
	char *tmpname;
	char **written;		/* file names written, to commit */
	unsigned nr_written;
};

struct cr_img {
	int fd;
	enum img_type type;
	bool write;
	bool eof_ok;
	char name[96];
	uint64_t off;		/* read offset, for messages */
	uint64_t size;		/* file size when reading */
	/* write buffering */
	uint8_t *buf;
	size_t buf_len;
};

int img_dir_open(struct img_dir *d, const char *path, bool for_write);
/* fsync every image, rename them into place, fsync the directory. */
int img_dir_commit(struct img_dir *d);
/* Drop an uncommitted image set (on failure). */
void img_dir_abort(struct img_dir *d);
void img_dir_close(struct img_dir *d);

struct cr_img *img_open(struct img_dir *d, enum img_type type, unsigned id, bool write);
/* Like img_open for reading, but a missing file gives NULL with errno ENOENT, no error. */
struct cr_img *img_open_optional(struct img_dir *d, enum img_type type, unsigned id);
int img_close(struct cr_img *img);

int img_write_pb(struct cr_img *img, const ProtobufCMessage *msg);
/* 1: a record was read into *out; 0: clean end of file; <0: error (logged). */
int img_read_pb(struct cr_img *img, const ProtobufCMessageDescriptor *desc, void **out);
/* Read exactly one record; missing is an error. */
int img_read_one(struct cr_img *img, const ProtobufCMessageDescriptor *desc, void **out);
void img_free_pb(void *msg);

int img_write_raw(struct cr_img *img, const void *buf, size_t len);
int img_flush(struct cr_img *img);
/* Raw images: the bytes after the header. */
int img_read_raw(struct cr_img *img, void *buf, size_t len);
int img_raw_fd(struct cr_img *img);
uint64_t img_raw_size(struct cr_img *img);
/* Where a raw image's data starts in its file. */
uint64_t img_data_off(const struct cr_img *img);

/* Identify an image file by its magic; -1 if unknown. */
int img_type_by_magic(uint32_t magic);
const ProtobufCMessageDescriptor *img_pb_desc(enum img_type type);

#endif
