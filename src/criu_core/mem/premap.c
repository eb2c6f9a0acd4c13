/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Restore side of the address space. In the task, still running lxc-cr's
 * code: reserve one region that collides with neither the current layout nor
 * the saved one, map every saved area into it with its contents, and map the
 * restorer blob with its arguments next to it. The restorer then moves each
 * area to its place (mremap keeps the pages) and drops everything else.
 */
#include <fcntl.h>
#include <linux/rseq.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/rseq.h>

#include "mem/vma.h"
#include "mem/xfer.h"
#include "fd/files.h"
#include "restore/restore.h"
#include "restore/restorer.h"
#include "ns/ns.h"
#include "task/core.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define TASK_SIZE 0x7ffffffff000ULL
#define STACK_GUARD (1ULL << 20)

static bool vma_is_special(const VmaEntry *v)
{
	return v->status == VMA_VDSO || v->status == VMA_VVAR;
}

int vma_validate(struct pstree_item *item, MmEntry *mm)
{
	for (size_t i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];

		if ((v->status == VMA_FILE_PRIVATE || v->status == VMA_FILE_SHARED) && !v->has_file_id) {
			pr_err("core-%d.img: file mapping at 0x%llx has no file", item->pid,
			       (unsigned long long)v->start);
			return -EINVAL;
		}
		if (v->status == VMA_ANON_SHARED && !v->has_shmid) {
			pr_err("core-%d.img: shared mapping at 0x%llx has no object", item->pid,
			       (unsigned long long)v->start);
			return -EINVAL;
		}
		if (v->prot & ~7u) {
			pr_err("core-%d.img: mapping at 0x%llx has bad protection 0x%x", item->pid,
			       (unsigned long long)v->start, v->prot);
			return -EINVAL;
		}
	}
	return 0;
}

static struct shmem_obj *shmem_find(struct rst_ctx *ctx, uint64_t shmid)
{
	for (unsigned i = 0; i < ctx->nr_shmems; i++)
		if (ctx->shmems[i].shmid == shmid)
			return &ctx->shmems[i];
	return NULL;
}

/* Walk pagemap-PID.img; call fn for each entry with its offset in pages-PID.img. */
typedef int (*pm_fn)(struct rst_ctx *ctx, struct pstree_item *item, PagemapEntry *e, int pfd,
		     uint64_t off, void *arg);

static int pagemap_walk(struct rst_ctx *ctx, struct pstree_item *item, pm_fn fn, void *arg,
			struct xfer_queue *q)
{
	struct cr_img *pm, *pages;
	PagemapHead *head = NULL;
	uint64_t off, size;
	int ret;

	pm = img_open(&ctx->dir, IMG_PAGEMAP, item->pid, false);
	if (!pm)
		return -EINVAL;
	pages = img_open(&ctx->dir, IMG_PAGES, item->pid, false);
	if (!pages) {
		img_close(pm);
		return -EINVAL;
	}
	off = img_data_off(pages);
	size = img_raw_size(pages) + off;
	ret = img_read_one(pm, &pagemap_head__descriptor, (void **)&head);
	if (ret)
		goto out;
	for (uint64_t i = 0; i < head->nr_entries; i++) {
		PagemapEntry *e;

		ret = img_read_one(pm, &pagemap_entry__descriptor, (void **)&e);
		if (ret)
			break;
		if (!e->nr_pages || e->vaddr & (PAGE_SIZE - 1) ||
		    (uint64_t)e->nr_pages * PAGE_SIZE > size - off ||
		    e->vaddr + (uint64_t)e->nr_pages * PAGE_SIZE < e->vaddr) {
			pr_err("image %s: entry %llu (0x%llx, %u pages) is beyond the pages image",
			       pm->name, (unsigned long long)i, (unsigned long long)e->vaddr,
			       e->nr_pages);
			img_free_pb(e);
			ret = -EINVAL;
			break;
		}
		ret = fn(ctx, item, e, img_raw_fd(pages), off, arg);
		off += (uint64_t)e->nr_pages * PAGE_SIZE;
		img_free_pb(e);
		if (ret)
			break;
	}
	/* copies the callbacks queued, while the pages image is open */
	if (!ret && q)
		ret = xfer_run_restore(q, img_raw_fd(pages));
out:
	img_free_pb(head);
	img_close(pm);
	img_close(pages);
	return ret;
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, off);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return r < 0 ? -errno : -ENODATA;
		}
		p += r;
		off += r;
		len -= r;
	}
	return 0;
}

static int shmem_fill(struct rst_ctx *ctx, struct pstree_item *item, PagemapEntry *e, int pfd,
		      uint64_t off, void *arg)
{
	struct shmem_obj *s;
	uint64_t len = (uint64_t)e->nr_pages * PAGE_SIZE;
	void *p;
	int ret;

	if (!e->has_shmid)
		return 0;
	s = shmem_find(ctx, e->shmid);
	if (s && s->from_file)
		return 0;
	if (!s || e->vaddr + len > s->size) {
		pr_err("pagemap-%d.img: data for shared memory %llx beyond its mappings", item->pid,
		       (unsigned long long)e->shmid);
		return -EINVAL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, e->vaddr);
	if (p == MAP_FAILED)
		return -errno;
	ret = pread_all(pfd, p, len, off);
	munmap(p, len);
	if (ret)
		pr_err("pages-%d.img: truncated", item->pid);
	return ret;
}

/*
 * Before anything is forked: every private pagemap entry must fall in the
 * process's private mappings (fill_private does the same walk in the task,
 * where a failure could only kill the half-restored tree), and shared ones
 * go into their objects.
 */
static int pagemap_check_fill(struct rst_ctx *ctx, struct pstree_item *item, PagemapEntry *e,
			      int pfd, uint64_t off, void *arg)
{
	MmEntry *mm = item->rcore->mm;
	uint64_t start = e->vaddr, end = e->vaddr + (uint64_t)e->nr_pages * PAGE_SIZE;

	if (e->has_shmid)
		return shmem_fill(ctx, item, e, pfd, off, arg);
	for (size_t i = 0; i < mm->n_vmas && start < end; i++) {
		VmaEntry *v = mm->vmas[i];

		if (v->end <= start || v->start >= end)
			continue;
		if (v->start > start || (v->status != VMA_ANON_PRIVATE && v->status != VMA_FILE_PRIVATE))
			break;
		start = min_t(uint64_t, end, v->end);
	}
	if (start < end) {
		pr_err("image pagemap-%d.img: pages at 0x%llx are outside any private mapping",
		       item->pid, (unsigned long long)start);
		return -EINVAL;
	}
	return 0;
}

int shmem_prepare(struct rst_ctx *ctx)
{
	int ret;

	for (unsigned i = 0; i < ctx->nr_items; i++) {
		ProcessCore *pc = ctx->items[i]->rcore;

		if (!pc)
			continue;
		for (size_t v = 0; v < pc->mm->n_vmas; v++) {
			VmaEntry *ve = pc->mm->vmas[v];
			uint64_t end = ve->pgoff + (ve->end - ve->start);
			struct shmem_obj *s;

			if (ve->status != VMA_ANON_SHARED)
				continue;
			s = shmem_find(ctx, ve->shmid);
			if (!s) {
				s = xrealloc_array(ctx->shmems, ctx->nr_shmems + 1, sizeof(*s));
				if (!s)
					return -ENOMEM;
				ctx->shmems = s;
				s = &ctx->shmems[ctx->nr_shmems++];
				s->shmid = ve->shmid;
				s->size = 0;
				s->fd = -1;
				s->from_file = false;
			}
			if (end > s->size)
				s->size = end;
		}
	}
	for (unsigned i = 0; i < ctx->nr_shmems; i++) {
		struct shmem_obj *s = &ctx->shmems[i];
		char path[96];
		void *p;

		/* a memfd's mappings share the memfd itself, filled from its image */
		s->fd = memfd_shmem_fd(ctx, s->shmid);
		if (s->fd >= 0) {
			s->from_file = true;
			s->fd = rst_svc_fd(ctx, s->fd);
			if (s->fd < 0)
				return s->fd;
			continue;
		}
		if (s->fd != -ENOENT)
			return s->fd;
		p = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			pr_perror("cannot create shared memory of %llu bytes", (unsigned long long)s->size);
			return -errno;
		}
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
			 (unsigned long)p + s->size);
		s->fd = open(path, O_RDWR | O_CLOEXEC);
		munmap(p, s->size);
		if (s->fd < 0) {
			pr_perror("cannot open shared memory object");
			return -errno;
		}
		s->fd = rst_svc_fd(ctx, s->fd);
		if (s->fd < 0)
			return s->fd;
	}
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		if (!ctx->items[i]->rcore)
			continue;
		ret = pagemap_walk(ctx, ctx->items[i], pagemap_check_fill, NULL, NULL);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- in the task ---- */

struct premap {
	MmEntry *mm;
	uint64_t *addr;		/* premap address per VMA (0 for vdso/vvar) */
	bool *data;		/* the VMA has saved pages */
	struct xfer_queue q;
};

static int mark_data(struct rst_ctx *ctx, struct pstree_item *item, PagemapEntry *e, int pfd,
		     uint64_t off, void *arg)
{
	struct premap *pm = arg;
	uint64_t end = e->vaddr + (uint64_t)e->nr_pages * PAGE_SIZE;

	if (e->has_shmid)
		return 0;
	for (size_t i = 0; i < pm->mm->n_vmas; i++)
		if (pm->mm->vmas[i]->start < end && e->vaddr < pm->mm->vmas[i]->end)
			pm->data[i] = true;
	return 0;
}

/* Anonymous private areas without saved pages are made by the restorer in place. */
static bool premapped(struct premap *pm, size_t i)
{
	VmaEntry *v = pm->mm->vmas[i];

	if (vma_is_special(v))
		return false;
	return v->status != VMA_ANON_PRIVATE || pm->data[i];
}

static int fill_private(struct rst_ctx *ctx, struct pstree_item *item, PagemapEntry *e, int pfd,
			uint64_t off, void *arg)
{
	struct premap *pm = arg;
	uint64_t start = e->vaddr, end = e->vaddr + (uint64_t)e->nr_pages * PAGE_SIZE;

	if (e->has_shmid)
		return 0;
	for (size_t i = 0; i < pm->mm->n_vmas && start < end; i++) {
		VmaEntry *v = pm->mm->vmas[i];
		uint64_t s, t;
		int ret;

		if (v->end <= start || v->start >= end)
			continue;
		if (v->start > start || (v->status != VMA_ANON_PRIVATE && v->status != VMA_FILE_PRIVATE))
			break;
		s = start;
		t = min_t(uint64_t, end, v->end);
		ret = xfer_queue_add(&pm->q, pfd, off + (s - e->vaddr),
				     pm->addr[i] + (s - v->start), t - s);
		if (ret)
			return ret;
		if (ctx->stats)
			ctx->stats->pages_restored += (t - s) / PAGE_SIZE;
		start = t;
	}
	if (start < end) {
		pr_err("pagemap-%d.img: pages at 0x%llx are outside any private mapping", item->pid,
		       (unsigned long long)start);
		return -EINVAL;
	}
	return 0;
}

/* The current [vvar]...[vdso] block. */
static int self_vdso(uint64_t *start, uint64_t *end)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];

	*start = *end = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;

		if (!strstr(line, "[vdso]") && !strstr(line, "[vvar"))
			continue;
		if (sscanf(line, "%llx-%llx", &s, &e) != 2)
			continue;
		if (!*start || s < *start)
			*start = s;
		if (e > *end)
			*end = e;
	}
	fclose(f);
	return 0;
}

static bool overlaps_target(MmEntry *mm, uint64_t s, uint64_t e)
{
	for (size_t i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];
		uint64_t vs = v->start;

		if (v->flags & MAP_GROWSDOWN)
			vs = vs > STACK_GUARD ? vs - STACK_GUARD : 0;
		if (s < v->end + PAGE_SIZE && vs < e + PAGE_SIZE)
			return true;
	}
	return false;
}

/* A free range of len bytes, away from the saved layout; reserved PROT_NONE. */
static uint64_t reserve_hole(MmEntry *mm, uint64_t len)
{
	uint64_t step = 1ULL << 30;

	for (uint64_t a = (TASK_SIZE - len - step) & ~(step - 1); a > (1ULL << 32); a -= step) {
		void *p;

		if (overlaps_target(mm, a, a + len))
			continue;
		p = mmap((void *)a, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			 MAP_FIXED_NOREPLACE, -1, 0);
		if (p == (void *)a)
			return a;
		if (p != MAP_FAILED)
			munmap(p, len);
	}
	return 0;
}

int vma_premap(struct rst_ctx *ctx, struct pstree_item *item, struct restorer_args **pargs,
	       uint64_t *stack_top, uint64_t *entry)
{
	ProcessCore *pc = item->rcore;
	MmEntry *mm = pc->mm;
	struct premap pm = { .mm = mm };
	uint64_t total = 0, blob_code, blob_len, pos, vd_s, vd_e, tvd_s = 0, tvd_e = 0;
	uint64_t args_off, vmas_off, thr_off, sig_off, filt_off, stacks_off, nsig = 0, filt_bytes = 0;
	struct restorer_args *a;
	struct rst_vma *rv;
	struct rst_thread *rt;
	uint8_t *blob;
	uint64_t region;
	int ret;

	pm.addr = xzalloc(sizeof(uint64_t) * (mm->n_vmas + 1));
	pm.data = xzalloc(sizeof(bool) * (mm->n_vmas + 1));
	if (!pm.addr || !pm.data)
		return -ENOMEM;
	ret = pagemap_walk(ctx, item, mark_data, &pm, NULL);
	if (ret)
		return ret;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];

		if (vma_is_special(v)) {
			if (!tvd_s || v->start < tvd_s)
				tvd_s = v->start;
			if (v->end > tvd_e)
				tvd_e = v->end;
			continue;
		}
		if (premapped(&pm, i))
			total += v->end - v->start;
	}
	for (unsigned t = 0; t < item->nr_threads; t++) {
		ThreadCore *tc = item->rtcores[t];

		nsig += tc->n_pending;
		for (size_t k = 0; k < tc->n_seccomp; k++) {
			if (tc->seccomp[k]->filter.len % 8 || tc->seccomp[k]->filter.len > 4096 * 8 ||
			    !tc->seccomp[k]->filter.len) {
				pr_err("core-%d.img: seccomp filter of thread %u is invalid", item->pid, tc->tid);
				return -EINVAL;
			}
			filt_bytes += sizeof(struct rst_filter) + tc->seccomp[k]->filter.len;
		}
	}
	nsig += pc->n_shared_pending;

	/* blob: code | args | vmas | threads | siginfos | stacks (main + one per thread) */
	blob_code = PAGE_ALIGN(restorer_blob_size);
	args_off = blob_code;
	vmas_off = args_off + PAGE_ALIGN(sizeof(struct restorer_args));
	thr_off = vmas_off + PAGE_ALIGN(sizeof(struct rst_vma) * (mm->n_vmas + 1));
	sig_off = thr_off + PAGE_ALIGN(sizeof(struct rst_thread) * item->nr_threads);
	filt_off = sig_off + PAGE_ALIGN(128 * (nsig + 1));
	stacks_off = filt_off + PAGE_ALIGN(filt_bytes + 8);
	blob_len = stacks_off + (uint64_t)RST_STACK_SIZE * (item->nr_threads + 1);

	region = reserve_hole(mm, total + blob_len);
	if (!region) {
		pr_err("pid %d: no room for the restorer away from the saved layout", item->pid);
		return -ENOMEM;
	}
	pos = region;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];
		uint64_t len = v->end - v->start;
		struct file_obj *f = NULL;
		struct shmem_obj *s = NULL;
		int flags = MAP_FIXED, fd = -1, prot = PROT_READ | PROT_WRITE;
		uint64_t off = 0;
		void *p;

		if (!premapped(&pm, i))
			continue;
		switch (v->status) {
		case VMA_ANON_PRIVATE:
			flags |= MAP_PRIVATE | MAP_ANONYMOUS | (v->flags & MAP_GROWSDOWN);
			break;
		case VMA_FILE_PRIVATE:
		case VMA_FILE_SHARED:
			f = file_find_mapped(ctx, v->file_id);
			if (!f)
				return -EINVAL;
			fd = f->fd;
			off = v->pgoff;
			if (v->status == VMA_FILE_SHARED) {
				flags |= MAP_SHARED;
				prot = v->prot;
			} else {
				flags |= MAP_PRIVATE;
			}
			break;
		case VMA_ANON_SHARED:
			s = shmem_find(ctx, v->shmid);
			if (!s)
				return -EINVAL;
			fd = s->fd;
			off = v->pgoff;
			flags |= MAP_SHARED;
			prot = v->prot;
			break;
		default:
			pr_err("pid %d: mapping at 0x%llx of unknown kind %u", item->pid,
			       (unsigned long long)v->start, v->status);
			return -EINVAL;
		}
		p = mmap((void *)pos, len, prot, flags, fd, off);
		if (p != (void *)pos) {
			pr_perror("pid %d: cannot prepare mapping 0x%llx-0x%llx", item->pid,
				  (unsigned long long)v->start, (unsigned long long)v->end);
			return -errno;
		}
		pm.addr[i] = pos;
		pos += len;
	}
	ret = pagemap_walk(ctx, item, fill_private, &pm, &pm.q);
	xfer_queue_free(&pm.q);
	if (ret)
		return ret;

	/* the blob */
	blob = mmap((void *)pos, blob_len, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (blob != (void *)pos) {
		pr_perror("pid %d: cannot map the restorer", item->pid);
		return -errno;
	}
	memcpy(blob, restorer_blob, restorer_blob_size);
	a = (struct restorer_args *)(blob + args_off);
	rv = (struct rst_vma *)(blob + vmas_off);
	rt = (struct rst_thread *)(blob + thr_off);
	a->blob_start = (uint64_t)blob;
	a->blob_len = blob_len;
	a->pid = item_vpid(item, 0);
	a->svc_base = ctx->svc_base;
	a->clone_flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			 CLONE_SYSVSEM;

	ret = self_vdso(&vd_s, &vd_e);
	if (ret)
		return ret;
	if (tvd_s) {
		if (vd_e - vd_s != tvd_e - tvd_s) {
			pr_err("pid %d: the vDSO here (%llu bytes) differs from the saved one (%llu bytes)",
			       item->pid, (unsigned long long)(vd_e - vd_s),
			       (unsigned long long)(tvd_e - tvd_s));
			return -EINVAL;
		}
		a->has_vdso = 1;
		a->vdso_cur = vd_s;
		a->vdso_len = vd_e - vd_s;
		a->vdso_dst = tvd_s;
	}
	/* keep: the region (premaps + blob) and the vDSO block, sorted */
	a->keep[0] = (struct rst_range){ region, region + total + blob_len };
	a->nr_keep = 1;
	if (vd_s) {
		struct rst_range r = { vd_s, vd_e };

		if (vd_s < region) {
			a->keep[1] = a->keep[0];
			a->keep[0] = r;
		} else {
			a->keep[1] = r;
		}
		a->nr_keep = 2;
	}

	a->vmas = (uint64_t)rv;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];

		if (vma_is_special(v))
			continue;
		rv[a->nr_vmas++] = (struct rst_vma){ pm.addr[i], v->start, v->end, v->prot,
						     v->flags, v->has_madv ? v->madv : 0, 0 };
	}
	/* threads and their pending signals */
	{
		uint8_t *sig = blob + sig_off, *filt = blob + filt_off;

		a->threads = (uint64_t)rt;
		a->nr_threads = item->nr_threads;
		for (unsigned t = 0; t < item->nr_threads; t++) {
			ThreadCore *tc = item->rtcores[t];
			struct rst_thread *th = &rt[t];

			th->tid = item_vpid(item, t);
			th->nr_set_tid = item->nr_levels;
			for (unsigned l = 0; l < item->nr_levels && l < RST_MAX_PID_LEVELS; l++)
				th->set_tid[l] = item->vtids[t * item->nr_levels + item->nr_levels - 1 - l];
			th->has_sas = tc->has_sas_sp;
			th->sas_sp = tc->sas_sp;
			th->sas_size = tc->sas_size;
			th->sas_flags = tc->sas_flags;
			if (tc->has_rseq_addr) {
				th->rseq_addr = tc->rseq_addr;
				th->rseq_len = tc->rseq_len;
				th->rseq_sig = tc->rseq_sig;
			}
			th->robust_list = tc->robust_list;
			th->robust_len = tc->robust_len;
			th->has_clear_tid = tc->has_clear_tid_addr;
			th->clear_tid_addr = tc->clear_tid_addr;
			if (tc->comm)
				snprintf(th->comm, sizeof(th->comm), "%s", tc->comm);
			th->pending = (uint64_t)sig;
			th->nr_pending = tc->n_pending;
			for (size_t k = 0; k < tc->n_pending; k++, sig += 128)
				memcpy(sig, tc->pending[k].data, 128);
			th->stack_top = (uint64_t)blob + stacks_off + (uint64_t)RST_STACK_SIZE * (t + 2);
			th->no_new_privs = tc->has_no_new_privs && tc->no_new_privs;
			th->timer_slack = tc->has_timer_slack ? tc->timer_slack : 0;
			restore_fill_creds(item, tc, &th->creds);
			th->has_nice = tc->has_nice;
			th->nice = tc->nice;
			if (tc->has_affinity && tc->affinity.len <= sizeof(th->affinity)) {
				th->affinity_len = tc->affinity.len;
				memcpy(th->affinity, tc->affinity.data, tc->affinity.len);
			}
			th->nr_seccomp = tc->n_seccomp;
			th->seccomp = (uint64_t)filt;
			{
				struct rst_filter *rf = (struct rst_filter *)filt;
				uint8_t *prog = filt + sizeof(*rf) * tc->n_seccomp;

				for (size_t k = 0; k < tc->n_seccomp; k++) {
					rf[k].len = tc->seccomp[k]->filter.len / 8;
					rf[k].prog = (uint64_t)prog;
					memcpy(prog, tc->seccomp[k]->filter.data, tc->seccomp[k]->filter.len);
					prog += tc->seccomp[k]->filter.len;
				}
				filt = prog;
			}
		}
		a->shared_pending = (uint64_t)sig;
		a->nr_shared_pending = pc->n_shared_pending;
		for (size_t k = 0; k < pc->n_shared_pending; k++, sig += 128)
			memcpy(sig, pc->shared_pending[k].data, 128);
	}
	/* mm fields */
	a->has_mm_map = 1;
	a->mm_map = (struct rst_mm_map){
		.start_code = mm->start_code, .end_code = mm->end_code,
		.start_data = mm->start_data, .end_data = mm->end_data,
		.start_brk = mm->start_brk, .brk = mm->brk, .start_stack = mm->start_stack,
		.arg_start = mm->arg_start, .arg_end = mm->arg_end,
		.env_start = mm->env_start, .env_end = mm->env_end,
		.exe_fd = (uint32_t)-1,
	};
	if (mm->has_auxv && mm->auxv.len) {
		if (mm->auxv.len > sizeof(a->auxv) || mm->auxv.len % 16) {
			pr_err("core-%d.img: auxv of %zu bytes is invalid", item->pid, mm->auxv.len);
			return -EINVAL;
		}
		memcpy(a->auxv, mm->auxv.data, mm->auxv.len);
		a->mm_map.auxv = (uint64_t)a->auxv;
		a->mm_map.auxv_size = mm->auxv.len;
	}
	if (mm->has_exe_file_id) {
		struct file_obj *f = file_find_mapped(ctx, mm->exe_file_id);

		if (f)
			a->mm_map.exe_fd = f->fd;
	}
	if (mm->has_dumpable) {
		a->has_dumpable = 1;
		a->dumpable = mm->dumpable;
	}
	if (__rseq_size) {
		a->cur_rseq_addr = (uint64_t)__builtin_thread_pointer() + __rseq_offset;
		a->cur_rseq_len = __rseq_size < 32 ? 32 : __rseq_size;
		a->cur_rseq_sig = RSEQ_SIG;
	}
	free(pm.addr);
	free(pm.data);
	*pargs = a;
	*stack_top = (uint64_t)blob + stacks_off + RST_STACK_SIZE;
	*entry = (uint64_t)blob + RESTORER_ENTRY_OFFSET;
	return 0;
}
