/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dump side of the address space: VMAs from /proc/PID/smaps, the pages that
 * hold data from /proc/PID/pagemap (present or swapped; in private file
 * mappings only the ones copied on write), read with process_vm_readv
 * (or /proc/PID/mem for areas the process cannot read itself).
 * Shared anonymous memory is saved once per object, from the object itself.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "infect/infect.h"
#include "mem/vma.h"
#include "fd/files.h"
#include "compat.h"
#include "mem/xfer.h"
#include "ns/ns.h"

#define PME_PRESENT	(1ULL << 63)
#define PME_SWAP	(1ULL << 62)
#define PME_FILE	(1ULL << 61)
#define PME_PFN_MASK	((1ULL << 55) - 1)

static int parse_vmflags(const char *s, struct vma_area *v)
{
	for (const char *p = s; *p && *p != '\n'; p += 3) {
		char f[3] = { p[0], p[1], 0 };

		if (!p[1])
			break;
		if (!strcmp(f, "gd"))
			v->growsdown = true;
		else if (!strcmp(f, "dc"))
			v->madv |= VMA_MADV_DONTFORK;
		else if (!strcmp(f, "dd"))
			v->madv |= VMA_MADV_DONTDUMP;
		else if (!strcmp(f, "wf"))
			v->madv |= VMA_MADV_WIPEONFORK;
		else if (!strcmp(f, "hg"))
			v->madv |= VMA_MADV_HUGEPAGE;
		else if (!strcmp(f, "nh"))
			v->madv |= VMA_MADV_NOHUGEPAGE;
		else if (!strcmp(f, "mg"))
			v->madv |= VMA_MADV_MERGEABLE;
		if (p[2] != ' ')
			break;
	}
	return 0;
}

int vma_collect(struct pstree_item *item)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	struct vma_area *v = NULL;
	unsigned n = 0;
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/smaps", item->pid);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("pid %d: cannot read smaps", item->pid);
		return -errno;
	}
	while (getline(&line, &cap, f) > 0) {
		unsigned long long start, end, pgoff, ino;
		unsigned dmaj, dmin;
		char perms[5];
		int off = 0;

		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, perms, &pgoff,
			   &dmaj, &dmin, &ino, &off) >= 7 && off > 0) {
			struct vma_area *nv = xrealloc_array(v, n + 1, sizeof(*v));
			char *name = line + off, *nl;

			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			v = nv;
			nl = strchr(name, '\n');
			if (nl)
				*nl = '\0';
			memset(&v[n], 0, sizeof(v[n]));
			v[n].start = start;
			v[n].end = end;
			v[n].pgoff = pgoff;
			v[n].dev = ((uint64_t)dmaj << 8) | dmin;
			v[n].ino = ino;
			v[n].prot = (perms[0] == 'r' ? PROT_READ : 0) |
				    (perms[1] == 'w' ? PROT_WRITE : 0) |
				    (perms[2] == 'x' ? PROT_EXEC : 0);
			v[n].flags = perms[3] == 's' ? MAP_SHARED : MAP_PRIVATE;
			v[n].path = name[0] ? xstrdup(name) : NULL;
			if (!strcmp(name, "[vdso]"))
				v[n].status = VMA_VDSO;
			else if (!strncmp(name, "[vvar", 5))
				v[n].status = VMA_VVAR;
			else if (!strcmp(name, "[vsyscall]"))
				v[n].status = VMA_VSYSCALL;
			else if (v[n].flags & MAP_SHARED)
				v[n].status = (ino == 0 || !strncmp(name, "/dev/zero", 9) ||
					       !strncmp(name, "/memfd:", 7)) ?
						      VMA_ANON_SHARED : VMA_FILE_SHARED;
			else
				v[n].status = (ino == 0 || name[0] != '/') ? VMA_ANON_PRIVATE :
									      VMA_FILE_PRIVATE;
			if (v[n].status == VMA_ANON_SHARED)
				v[n].shmid = ino;
			n++;
		} else if (n && !strncmp(line, "VmFlags:", 8)) {
			parse_vmflags(line + 9, &v[n - 1]);
		}
	}
	free(line);
	fclose(f);
	item->vmas = v;
	item->nr_vmas = n;
	return ret;
}

void vma_free(struct pstree_item *item)
{
	for (unsigned i = 0; i < item->nr_vmas; i++)
		free(item->vmas[i].path);
	free(item->vmas);
	item->vmas = NULL;
	item->nr_vmas = 0;
}

struct page_xfer {
	struct dump_ctx *ctx;
	struct pstree_item *item;
	struct cr_img *pm, *pages;
	PagemapEntry **entries;
	size_t nr_entries;
	uint64_t written, skipped;
	struct xfer_queue q;		/* copies into the pages image, run at the end */
	uint64_t data_off;		/* bytes queued so far */
	int *fds;			/* sources of queued copies, closed at the end */
	unsigned nr_fds;
};

static int xfer_add_entry(struct page_xfer *x, uint64_t vaddr, uint32_t nr, uint64_t shmid)
{
	PagemapEntry **n, *e;

	if (x->nr_entries && !shmid) {
		e = x->entries[x->nr_entries - 1];
		if (!e->has_shmid && e->vaddr + (uint64_t)e->nr_pages * PAGE_SIZE == vaddr) {
			e->nr_pages += nr;
			return 0;
		}
	}
	n = xrealloc_array(x->entries, x->nr_entries + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	x->entries = n;
	e = xzalloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	pagemap_entry__init(e);
	e->vaddr = vaddr;
	e->nr_pages = nr;
	if (shmid) {
		e->has_shmid = true;
		e->shmid = shmid;
	}
	x->entries[x->nr_entries++] = e;
	return 0;
}

/* Queue the copy of [addr, addr+len) of the process (src_fd < 0) or of a file. */
static int xfer_copy(struct page_xfer *x, int src_fd, uint64_t addr, uint64_t len)
{
	int ret = xfer_queue_add(&x->q, src_fd, addr, x->data_off, len);

	if (ret)
		return ret;
	x->data_off += len;
	x->written += len / PAGE_SIZE;
	return 0;
}

static int read_vma_pages(struct page_xfer *x, int pmfd, struct vma_area *v);

static int copy_run(struct page_xfer *x, struct vma_area *v, uint64_t start, uint64_t end)
{
	int ret = xfer_add_entry(x, start, (end - start) / PAGE_SIZE, 0);

	if (!ret)
		ret = xfer_copy(x, -1, start, end - start);
	return ret;
}

/* PAGEMAP_SCAN (6.7+): the kernel hands out only the runs that hold data. */
static int scan_vma_pages(struct page_xfer *x, int pmfd, struct vma_area *v)
{
	struct page_region regs[512];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = v->start,
		.end = v->end,
		.vec = (uint64_t)regs,
		.vec_len = ARRAY_SIZE(regs),
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.category_inverted = PAGE_IS_PFNZERO,
		.category_mask = PAGE_IS_PFNZERO,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	};

	if (v->status == VMA_FILE_PRIVATE) {
		/* only pages copied on write: not the file's own */
		arg.category_inverted |= PAGE_IS_FILE;
		arg.category_mask |= PAGE_IS_FILE;
	}
	while (arg.start < v->end) {
		long n = ioctl(pmfd, PAGEMAP_SCAN, &arg);

		if (n < 0)
			return -errno;
		for (long i = 0; i < n; i++) {
			int ret = copy_run(x, v, regs[i].start, regs[i].end);

			if (ret)
				return ret;
		}
		if (arg.walk_end <= arg.start)
			break;
		arg.start = arg.walk_end;
	}
	return 0;
}

static int dump_vma_pages(struct page_xfer *x, int pmfd, struct vma_area *v)
{
	static bool no_scan;
	int ret;

	if (!no_scan) {
		ret = scan_vma_pages(x, pmfd, v);
		if (ret != -ENOTTY && ret != -EINVAL)
			return ret;
		no_scan = true;
		pr_info("PAGEMAP_SCAN is not available: reading pagemap");
	}
	return read_vma_pages(x, pmfd, v);
}

static int read_vma_pages(struct page_xfer *x, int pmfd, struct vma_area *v)
{
	uint64_t npages = (v->end - v->start) / PAGE_SIZE;
	uint64_t batch = 65536;
	_cleanup_free_ uint64_t *pme = malloc(batch * sizeof(uint64_t));
	bool file = v->status == VMA_FILE_PRIVATE;

	if (!pme)
		return -ENOMEM;
	for (uint64_t done = 0; done < npages;) {
		uint64_t cnt = min_t(uint64_t, batch, npages - done);
		uint64_t base = v->start + done * PAGE_SIZE;
		ssize_t r = pread(pmfd, pme, cnt * sizeof(uint64_t), (base / PAGE_SIZE) * sizeof(uint64_t));

		if (r != (ssize_t)(cnt * sizeof(uint64_t))) {
			pr_perror("pid %d: cannot read pagemap at 0x%llx", x->item->pid,
				  (unsigned long long)base);
			return -EIO;
		}
		for (uint64_t i = 0; i < cnt;) {
			uint64_t j = i;
			int ret;

			while (j < cnt) {
				uint64_t e = pme[j];
				bool want = (e & PME_SWAP) ||
					    ((e & PME_PRESENT) && !(file && (e & PME_FILE)));

				if (!want)
					break;
				j++;
			}
			if (j == i) {
				x->skipped++;
				i++;
				continue;
			}
			ret = xfer_add_entry(x, base + i * PAGE_SIZE, j - i, 0);
			if (!ret)
				ret = xfer_copy(x, -1, base + i * PAGE_SIZE, (j - i) * PAGE_SIZE);
			if (ret)
				return ret;
			i = j;
		}
		done += cnt;
	}
	return 0;
}

/* Shared anonymous memory: the populated parts of the shmem object, once. */
static uint64_t *shm_done;
static unsigned nr_shm_done;

static int dump_shmem(struct page_xfer *x, struct vma_area *v)
{
	char path[96];
	_cleanup_close_ int fd = -1;
	struct stat st;
	off_t pos = 0;
	uint64_t *n;

	for (unsigned i = 0; i < nr_shm_done; i++)
		if (shm_done[i] == v->shmid)
			return 0;
	n = xrealloc_array(shm_done, nr_shm_done + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	shm_done = n;
	shm_done[nr_shm_done++] = v->shmid;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", x->item->pid,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		pr_perror("pid %d: cannot open shared memory at 0x%llx", x->item->pid,
			  (unsigned long long)v->start);
		return -errno;
	}
	while (pos < st.st_size) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;
		int ret;

		if (data < 0)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		data &= ~(off_t)(PAGE_SIZE - 1);
		hole = PAGE_ALIGN(hole);
		ret = xfer_add_entry(x, data, (hole - data) / PAGE_SIZE, v->shmid);
		if (!ret)
			ret = xfer_copy(x, fd, data, hole - data);
		if (ret)
			return ret;
		pos = hole;
	}
	/* keep the object open until the queued copies ran */
	{
		int *nf = xrealloc_array(x->fds, x->nr_fds + 1, sizeof(int));

		if (!nf)
			return -ENOMEM;
		x->fds = nf;
		x->fds[x->nr_fds++] = TAKE_FD(fd);
	}
	return 0;
}

/* Run the queued copies straight into a mapping of the pages image. */
static int xfer_flush(struct page_xfer *x)
{
	int fd = img_raw_fd(x->pages), ret;
	uint8_t *map;

	ret = img_flush(x->pages);
	if (ret || !x->data_off)
		return ret;
	if (ftruncate(fd, IMG_PAGES_DATA_OFF + x->data_off) < 0) {
		pr_perror("image %s: cannot size it to %llu bytes", x->pages->name,
			  (unsigned long long)x->data_off);
		return -errno;
	}
	map = mmap(NULL, x->data_off, PROT_READ | PROT_WRITE, MAP_SHARED, fd, IMG_PAGES_DATA_OFF);
	if (map == MAP_FAILED) {
		pr_perror("image %s: cannot map it", x->pages->name);
		return -errno;
	}
	ret = xfer_run_dump(&x->q, x->item->pid, map);
	if (munmap(map, x->data_off) < 0 && !ret)
		ret = -errno;
	if (ret)
		pr_err("pid %d: cannot save its memory: %s", x->item->pid, strerror(-ret));
	return ret;
}

int vma_dump(struct dump_ctx *ctx, struct pstree_item *item, MmEntry *mm)
{
	struct page_xfer x = { .ctx = ctx, .item = item };
	PagemapHead head = PAGEMAP_HEAD__INIT;
	_cleanup_close_ int pmfd = -1;
	char path[96];
	int ret = 0;

	mm->vmas = xzalloc(sizeof(VmaEntry *) * (item->nr_vmas + 1));
	if (!mm->vmas)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", item->pid);
	pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pmfd < 0) {
		pr_perror("pid %d: cannot open pagemap", item->pid);
		return -errno;
	}
	x.pm = img_open(&ctx->dir, IMG_PAGEMAP, ns_vpid(item->pid), true);
	x.pages = img_open(&ctx->dir, IMG_PAGES, ns_vpid(item->pid), true);
	if (!x.pm || !x.pages) {
		ret = -EIO;
		goto out;
	}
	for (unsigned i = 0; i < item->nr_vmas; i++) {
		struct vma_area *v = &item->vmas[i];
		VmaEntry *ve;

		if (v->status == VMA_VSYSCALL)
			continue;
		ve = xzalloc(sizeof(*ve));
		if (!ve) {
			ret = -ENOMEM;
			goto out;
		}
		vma_entry__init(ve);
		mm->vmas[mm->n_vmas++] = ve;
		ve->start = v->start;
		ve->end = v->end;
		ve->pgoff = v->pgoff;
		ve->prot = v->prot;
		ve->flags = v->flags | (v->status == VMA_ANON_PRIVATE ? MAP_ANONYMOUS : 0) |
			    (v->growsdown ? MAP_GROWSDOWN : 0);
		ve->status = v->status;
		ve->has_madv = true;
		ve->madv = v->madv;
		if (v->status == VMA_FILE_PRIVATE || v->status == VMA_FILE_SHARED) {
			snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", item->pid,
				 (unsigned long long)v->start, (unsigned long long)v->end);
			ret = dump_file_by_path(ctx, item, path,
						(v->flags & MAP_SHARED) && (v->prot & PROT_WRITE) ?
							O_RDWR : O_RDONLY,
						&ve->file_id);
			if (ret)
				goto out;
			ve->has_file_id = true;
		}
		if (v->status == VMA_ANON_SHARED && v->path && !strncmp(v->path, "/memfd:", 7)) {
			uint32_t id;

			/* the memfd's entry carries the contents; the mapping uses it */
			snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", item->pid,
				 (unsigned long long)v->start, (unsigned long long)v->end);
			ve->has_shmid = true;
			ve->shmid = v->shmid;
			ret = dump_file_by_path(ctx, item, path, O_RDWR, &id);
		} else if (v->status == VMA_ANON_SHARED) {
			ve->has_shmid = true;
			ve->shmid = v->shmid;
			ret = dump_shmem(&x, v);
		} else if (v->status == VMA_ANON_PRIVATE || v->status == VMA_FILE_PRIVATE) {
			ret = dump_vma_pages(&x, pmfd, v);
		}
		if (ret)
			goto out;
	}
	ret = xfer_flush(&x);
	if (ret)
		goto out;
	head.pages_id = ns_vpid(item->pid);
	head.nr_entries = x.nr_entries;
	ret = img_write_pb(x.pm, &head.base);
	for (size_t i = 0; !ret && i < x.nr_entries; i++)
		ret = img_write_pb(x.pm, &x.entries[i]->base);
	if (ctx->stats) {
		ctx->stats->pages_written += x.written;
		ctx->stats->pages_skipped += x.skipped;
	}
out:
	if (x.pm && img_close(x.pm) && !ret)
		ret = -EIO;
	if (x.pages && img_close(x.pages) && !ret)
		ret = -EIO;
	for (size_t i = 0; i < x.nr_entries; i++)
		free(x.entries[i]);
	free(x.entries);
	for (unsigned i = 0; i < x.nr_fds; i++)
		close(x.fds[i]);
	free(x.fds);
	xfer_queue_free(&x.q);
	return ret;
}
