/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `lxc-cr show`: decode protobuf images as JSON, generically from their descriptors. */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "cr.h"

static const ProtobufCMessageDescriptor *pb_descs[IMG_TYPE_MAX] = {
	[IMG_INVENTORY] = &inventory_entry__descriptor,
	[IMG_PSTREE] = &pstree_entry__descriptor,
	[IMG_REG_FILES] = &reg_file_entry__descriptor,
	[IMG_PIPES] = &pipe_entry__descriptor,
	[IMG_FIFO] = &fifo_entry__descriptor,
	[IMG_TTY] = &tty_file_entry__descriptor,
	[IMG_FILE_LOCKS] = &file_lock_entry__descriptor,
	[IMG_EVENTFD] = &eventfd_entry__descriptor,
	[IMG_EPOLL] = &epoll_entry__descriptor,
	[IMG_SIGNALFD] = &signalfd_entry__descriptor,
	[IMG_TIMERFD] = &timerfd_entry__descriptor,
	[IMG_INOTIFY] = &inotify_entry__descriptor,
	[IMG_PIDFD] = &pidfd_entry__descriptor,
	[IMG_MQUEUE] = &mqueue_file_entry__descriptor,
	[IMG_MEMFD] = &memfd_entry__descriptor,
	[IMG_INETSK] = &inet_sk_entry__descriptor,
	[IMG_TCP_STREAM] = &tcp_stream_entry__descriptor,
	[IMG_UNIXSK] = &unix_sk_entry__descriptor,
	[IMG_NS] = &ns_entry__descriptor,
	[IMG_CGROUP] = &cgroup_entry__descriptor,
	[IMG_TMPFS] = &tmpfs_file__descriptor,
	[IMG_FUSE] = &fuse_entry__descriptor,
	[IMG_FUSE_MNT] = &fuse_mnt_entry__descriptor,
	[IMG_FUSE_EXT] = &fuse_ext_entry__descriptor,
};

const ProtobufCMessageDescriptor *img_pb_desc(enum img_type type)
{
	return type < IMG_TYPE_MAX ? pb_descs[type] : NULL;
}

struct out {
	FILE *f;
};

static void json_str(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void show_msg(FILE *f, const ProtobufCMessage *m, int ind);

static void show_value(FILE *f, const ProtobufCFieldDescriptor *fd, const void *p, int ind)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(f, "%d", *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(f, "%u", *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(f, "%lld", (long long)*(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		fprintf(f, "\"0x%llx\"", (unsigned long long)*(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fprintf(f, "%s", *(const protobuf_c_boolean *)p ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_ENUM:
		fprintf(f, "%d", *(const int *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		fprintf(f, "%g", *(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		fprintf(f, "%g", *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		json_str(f, s ? s : "", s ? strlen(s) : 0);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		fputc('"', f);
		for (size_t i = 0; i < b->len; i++)
			fprintf(f, "%02x", b->data[i]);
		fputc('"', f);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		show_msg(f, *(ProtobufCMessage *const *)p, ind + 1);
		break;
	}
}

static size_t type_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

static void show_msg(FILE *f, const ProtobufCMessage *m, int ind)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	bool first = true;

	fputc('{', f);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const char *base = (const char *)m;
		const void *p = base + fd->offset;

		if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset &&
		    fd->type != PROTOBUF_C_TYPE_MESSAGE && fd->type != PROTOBUF_C_TYPE_STRING &&
		    !*(const protobuf_c_boolean *)(base + fd->quantifier_offset))
			continue;
		if ((fd->type == PROTOBUF_C_TYPE_MESSAGE || fd->type == PROTOBUF_C_TYPE_STRING) &&
		    fd->label != PROTOBUF_C_LABEL_REPEATED && !*(void *const *)p)
			continue;
		fprintf(f, "%s\n%*s\"%s\": ", first ? "" : ",", ind * 2 + 2, "", fd->name);
		first = false;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + fd->quantifier_offset);
			const char *arr = *(char *const *)p;

			fputc('[', f);
			for (size_t k = 0; k < n; k++) {
				if (k)
					fputs(", ", f);
				show_value(f, fd, arr + k * type_size(fd->type), ind + 1);
			}
			fputc(']', f);
		} else {
			show_value(f, fd, p, ind);
		}
	}
	fprintf(f, "\n%*s}", ind * 2, "");
}

static int show_file(int dfd, const char *name, FILE *f, bool *first)
{
	uint32_t hdr[2];
	struct stat st;
	/* O_NONBLOCK: a FIFO named like an image must not block us */
	int fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), type, ret = 0;
	uint64_t off = IMG_HDR_SIZE;

	if (fd < 0) {
		pr_perror("image %s: cannot open", name);
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pr_err("image %s: not a regular file", name);
		close(fd);
		return -EINVAL;
	}
	if (read_all(fd, hdr, sizeof(hdr)) < 0) {
		pr_err("image %s: truncated header", name);
		close(fd);
		return -EINVAL;
	}
	type = img_type_by_magic(hdr[0]);
	if (type < 0) {
		pr_err("image %s: unknown magic 0x%08x", name, hdr[0]);
		close(fd);
		return -EINVAL;
	}
	fprintf(f, "%s{\"file\": ", *first ? "" : ",\n");
	*first = false;
	json_str(f, name, strlen(name));
	fprintf(f, ", \"version\": %u", hdr[1]);
	if (img_descs[type].raw) {
		uint64_t doff = img_descs[type].aligned ? IMG_PAGES_DATA_OFF : IMG_HDR_SIZE;

		fprintf(f, ", \"raw_bytes\": %llu}",
			(unsigned long long)((uint64_t)st.st_size > doff ? st.st_size - doff : 0));
		close(fd);
		return 0;
	}
	fputs(", \"entries\": [", f);
	for (int n = 0;; n++) {
		uint32_t len;
		uint8_t *buf;
		ProtobufCMessage *m;
		ssize_t r = read(fd, &len, 4);
		const ProtobufCMessageDescriptor *d;

		if (r == 0)
			break;
		if (r != 4 || len > IMG_MAX_ENTRY || (uint64_t)st.st_size < off + 4 ||
		    len > st.st_size - off - 4) {
			pr_err("image %s: bad record at offset %llu", name, (unsigned long long)off);
			ret = -EINVAL;
			break;
		}
		buf = malloc(len ? len : 1);
		if (!buf || read_all(fd, buf, len) < 0) {
			free(buf);
			ret = -EINVAL;
			break;
		}
		off += 4 + len;
		d = pb_descs[type];
		if (type == IMG_CORE)
			d = n == 0 ? &process_core__descriptor : &thread_core__descriptor;
		if (type == IMG_PAGEMAP)
			d = n == 0 ? &pagemap_head__descriptor : &pagemap_entry__descriptor;
		if (!d) {
			free(buf);
			fprintf(f, "%s{\"undecoded_bytes\": %u}", n ? ", " : "", len);
			continue;
		}
		m = protobuf_c_message_unpack(d, NULL, len, buf);
		free(buf);
		if (!m) {
			pr_err("image %s: corrupted record %d", name, n);
			ret = -EINVAL;
			break;
		}
		fputs(n ? ",\n" : "\n", f);
		show_msg(f, m, 1);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	fputs("]}", f);
	close(fd);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int crc_show(const char *path, int out_fd)
{
	FILE *f = fdopen(dup(out_fd), "w");
	struct stat st;
	bool first = true;
	int ret = 0;

	if (!f)
		return -errno;
	if (stat(path, &st) < 0) {
		pr_perror("%s", path);
		fclose(f);
		return -ENOENT;
	}
	fputs("[", f);
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;
		char **names = NULL;
		size_t n = 0;

		if (!d) {
			fclose(f);
			return -errno;
		}
		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);

			if (l > 4 && !strcmp(de->d_name + l - 4, ".img")) {
				char **nn = xrealloc_array(names, n + 1, sizeof(char *));

				if (!nn)
					break;
				names = nn;
				names[n++] = xstrdup(de->d_name);
			}
		}
		if (n)
			qsort(names, n, sizeof(char *), cmp_str);
		for (size_t i = 0; i < n; i++) {
			if (!ret)
				ret = show_file(dirfd(d), names[i], f, &first);
			free(names[i]);
		}
		free(names);
		closedir(d);
	} else {
		_cleanup_free_ char *dir = xstrdup(path), *base = xstrdup(path);
		int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd < 0) {
			fclose(f);
			return -errno;
		}
		ret = show_file(dfd, basename(base), f, &first);
		close(dfd);
	}
	fputs("]\n", f);
	fclose(f);
	return ret;
}
