/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The address space: VMAs and their pages, dump and restore sides. */
#ifndef CRCORE_MEM_VMA_H
#define CRCORE_MEM_VMA_H

#include "cr.h"

enum vma_status {
	VMA_ANON_PRIVATE = 1,
	VMA_ANON_SHARED = 2,	/* shmem: MAP_SHARED|MAP_ANONYMOUS, memfd */
	VMA_FILE_PRIVATE = 3,
	VMA_FILE_SHARED = 4,
	VMA_VDSO = 5,
	VMA_VVAR = 6,
	VMA_VSYSCALL = 7,
};

/* madvise-like bits kept per VMA */
#define VMA_MADV_DONTFORK	0x1
#define VMA_MADV_DONTDUMP	0x2
#define VMA_MADV_WIPEONFORK	0x4
#define VMA_MADV_HUGEPAGE	0x8
#define VMA_MADV_NOHUGEPAGE	0x10
#define VMA_MADV_MERGEABLE	0x20

struct vma_area {
	uint64_t start, end, pgoff;
	uint32_t prot, flags, status, madv;
	uint64_t dev, ino;
	char *path;
	uint32_t file_id;
	uint64_t shmid;
	bool growsdown;
};

int vma_collect(struct pstree_item *item);
void vma_free(struct pstree_item *item);
/* Fill mm->vmas and write pagemap-PID.img and pages-PID.img. */
int vma_dump(struct dump_ctx *ctx, struct pstree_item *item, MmEntry *mm);

#endif

struct rst_ctx;
struct restorer_args;

/* Restore, in the restoring process: create every shared anonymous object once. */
int shmem_prepare(struct rst_ctx *ctx);
/* Restore, in the task: put every area at a temporary place with its contents,
 * map the restorer blob with its arguments; *args and *stack are in the blob. */
int vma_premap(struct rst_ctx *ctx, struct pstree_item *item, struct restorer_args **args,
	       uint64_t *stack_top, uint64_t *entry);
int vma_validate(struct pstree_item *item, MmEntry *mm);
