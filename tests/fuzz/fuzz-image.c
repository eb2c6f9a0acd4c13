/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for everything that reads images.
 *
 * Input, first byte:
 *   0x00-0x7f  one image file of type (byte % IMG_TYPE_MAX), the rest is the
 *              whole file (header included); read with img_open/img_read_pb
 *              (or img_read_raw) over every record, and decoded by crc_show.
 *   0x80-0xff  a whole image directory: the rest is a list of
 *              { u8 type; u32 id; u32 len; len bytes } files (little endian);
 *              crc_show decodes it and crc_restore restores it.
 *
 * crc_restore must validate everything before it creates a process: clone3
 * is refused here by a seccomp filter (ENOSYS), so an input that passes every
 * check fails at the fork, and a process created any other way, a leaked
 * descriptor or a child left behind aborts the run as a finding.
 *
 * FUZZ_IMAGE_MKSEED=IMAGEDIR:OUTDIR writes seeds from a real image directory
 * (one per file and one for the whole directory) and exits.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "crcore.h"
#include "image/image.h"
#include "inventory.pb-c.h"
#include "pstree.pb-c.h"
#include "core.pb-c.h"
#include "mm.pb-c.h"
#include "fdinfo.pb-c.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILES 32

static char workdir[] = "/tmp/fuzz-image.XXXXXX";
static char imgdir[64];
static int devnull = -1;
static bool filtered;

static void die(const char *what)
{
	fprintf(stderr, "fuzz-image: %s: %s\n", what, strerror(errno));
	abort();
}

/* clone3 -> ENOSYS: glibc's threads fall back to clone(CLONE_THREAD);
 * restore's clone3(set_tid) fails cleanly. */
static void deny_clone3(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		die("seccomp");
}

static void clean_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR) {
			char sub[512];

			snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
			clean_dir(sub);
			unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
		}
	}
	closedir(d);
}

static void img_file_name(unsigned type, unsigned id, char *buf, size_t len)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (img_descs[type].per_id)
		snprintf(buf, len, img_descs[type].fmt, id);
	else
		snprintf(buf, len, "%s", img_descs[type].fmt);
#pragma GCC diagnostic pop
}

static void put_file(unsigned type, unsigned id, const uint8_t *p, size_t len)
{
	char name[96], path[160];
	int fd;

	img_file_name(type, id, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", imgdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die(name);
	if (len && write(fd, p, len) != (ssize_t)len)
		die("write");
	close(fd);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* A child of ours other than the sanitizers' llvm-symbolizer: restore made a process. */
static pid_t stray_child(void)
{
	char path[64], comm[64];
	FILE *f;
	int c;
	pid_t ret = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/children", (long)syscall(SYS_gettid));
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (!ret && fscanf(f, "%d", &c) == 1) {
		FILE *cf;

		snprintf(path, sizeof(path), "/proc/%d/comm", c);
		cf = fopen(path, "r");
		if (cf && fgets(comm, sizeof(comm), cf) && strncmp(comm, "llvm-symbolizer", 15))
			ret = c;
		if (cf)
			fclose(cf);
	}
	fclose(f);
	return ret;
}

static void read_one_image(unsigned type)
{
	struct img_dir d;
	struct cr_img *img;
	char path[160], name[96];

	if (img_dir_open(&d, imgdir, false)) {
		img_dir_close(&d);
		return;
	}
	img = img_open(&d, type, 1, false);
	if (img) {
		if (img_descs[type].raw) {
			char buf[4096];
			uint64_t left = img_raw_size(img);

			while (left) {
				size_t n = left < sizeof(buf) ? left : sizeof(buf);

				if (img_read_raw(img, buf, n))
					break;
				left -= n;
			}
		} else {
			for (int n = 0;; n++) {
				const ProtobufCMessageDescriptor *desc = img_pb_desc(type);
				void *m;

				if (type == IMG_CORE)
					desc = n ? &thread_core__descriptor : &process_core__descriptor;
				else if (type == IMG_PAGEMAP)
					desc = n ? &pagemap_entry__descriptor : &pagemap_head__descriptor;
				if (!desc)
					desc = &fd_entry__descriptor;	/* any message: framing is what counts */
				if (img_read_pb(img, desc, &m) <= 0)
					break;
				img_free_pb(m);
			}
		}
		img_close(img);
	}
	img_dir_close(&d);
	img_file_name(type, 1, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", imgdir, name);
	crc_show(path, devnull);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seed = getenv("FUZZ_IMAGE_MKSEED");

	crc_log_init("/dev/null", LOG_LVL_ERROR);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (!mkdtemp(workdir))
		die("mkdtemp");
	snprintf(imgdir, sizeof(imgdir), "%s/img", workdir);
	if (mkdir(imgdir, 0700) < 0)
		die("mkdir");

	if (seed) {
		/* IMAGEDIR:OUTDIR */
		char *in = strdup(seed), *out = strchr(in, ':');
		FILE *all;
		DIR *d;
		struct dirent *de;
		char path[1024];
		int nr = 0;

		if (!out)
			die("FUZZ_IMAGE_MKSEED=IMAGEDIR:OUTDIR");
		*out++ = '\0';
		snprintf(path, sizeof(path), "%s/seed-dir", out);
		all = fopen(path, "w");
		if (!all || !(d = opendir(in)))
			die(path);
		fputc(0x80, all);
		while ((de = readdir(d))) {
			unsigned char hdr[8], *buf;
			uint32_t magic, id = 0, len;
			FILE *f, *one;
			const char *num;
			long n;
			int type;

			snprintf(path, sizeof(path), "%s/%s", in, de->d_name);
			f = fopen(path, "r");
			if (!f || fread(hdr, 1, 8, f) != 8) {
				if (f)
					fclose(f);
				continue;
			}
			memcpy(&magic, hdr, 4);
			type = img_type_by_magic(magic);
			if (type < 0) {
				fclose(f);
				continue;
			}
			fseek(f, 0, SEEK_END);
			n = ftell(f);
			rewind(f);
			buf = malloc(n);
			if (fread(buf, 1, n, f) != (size_t)n)
				die(path);
			fclose(f);
			num = strpbrk(de->d_name, "0123456789");
			if (num)
				id = strtoul(num, NULL, 10);
			len = n;
			fputc(type, all);
			fwrite(&id, 4, 1, all);
			fwrite(&len, 4, 1, all);
			fwrite(buf, 1, n, all);
			snprintf(path, sizeof(path), "%s/seed-%s", out, de->d_name);
			one = fopen(path, "w");
			if (!one)
				die(path);
			fputc(type, one);
			fwrite(buf, 1, n, one);
			fclose(one);
			free(buf);
			nr++;
		}
		closedir(d);
		fclose(all);
		rmdir(imgdir);
		rmdir(workdir);
		fprintf(stderr, "fuzz-image: %d seeds and seed-dir written to %s\n", nr, out);
		exit(nr ? 0 : 1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds_before;

	if (!size)
		return 0;
	if (!filtered) {
		deny_clone3();
		filtered = true;
	}
	fds_before = count_fds();
	clean_dir(imgdir);

	if (!(data[0] & 0x80)) {
		unsigned type = data[0] % IMG_TYPE_MAX;

		put_file(type, 1, data + 1, size - 1);
		read_one_image(type);
	} else {
		struct crc_restore_opts ro = { .images_dir = imgdir, .detach = true };
		size_t off = 1;
		pid_t pid = 0;
		int nr = 0;

		while (off + 9 <= size && nr < MAX_FILES) {
			uint32_t id, len;
			unsigned type = data[off] % IMG_TYPE_MAX;

			memcpy(&id, data + off + 1, 4);
			memcpy(&len, data + off + 5, 4);
			off += 9;
			if (len > size - off)
				len = size - off;
			put_file(type, id, data + off, len);
			off += len;
			nr++;
		}
		crc_show(imgdir, devnull);
		if (crc_restore(&ro, &pid, NULL) >= 0) {
			fprintf(stderr, "fuzz-image: restore succeeded (pid %d) without clone3\n", pid);
			abort();
		}
		if ((pid = stray_child()) > 0) {
			fprintf(stderr, "fuzz-image: a failed restore left child process %d\n", pid);
			abort();
		}
	}
	if (count_fds() != fds_before) {
		fprintf(stderr, "fuzz-image: %d descriptors before the input, %d after\n", fds_before,
			count_fds());
		abort();
	}
	return 0;
}
