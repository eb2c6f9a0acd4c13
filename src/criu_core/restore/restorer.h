/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The contract between the restoring task (libc world) and the restorer blob,
 * a position-independent piece of code without libc that replaces the task's
 * address space with the saved one. Everything the blob needs sits in one
 * mapping: code, then this structure, then its arrays, then thread stacks.
 */
#ifndef CRCORE_RESTORER_H
#define CRCORE_RESTORER_H

#include <stdint.h>

#define RST_STACK_SIZE		(64 * 1024)
#define RST_MAX_THREADS		4096
#define RST_AUXV_MAX		128
#define RST_MAX_PID_LEVELS	32

/* restorer steps, reported through the error pipe on failure */
enum {
	RST_STEP_RSEQ_UNREG = 1,
	RST_STEP_UNMAP,
	RST_STEP_VDSO,
	RST_STEP_MREMAP,
	RST_STEP_MPROTECT,
	RST_STEP_MM_MAP,
	RST_STEP_THREAD,
	RST_STEP_SIGALTSTACK,
	RST_STEP_RSEQ,
	RST_STEP_SIGQUEUE,
	RST_STEP_MADVISE,
	RST_STEP_SECCOMP,
	RST_STEP_CREDS,
};

struct rst_err {
	int32_t step;
	int32_t err;
	uint64_t addr;
};

struct rst_range {
	uint64_t start, end;
};

struct rst_vma {
	uint64_t premap;	/* where the area is now */
	uint64_t start, end;	/* where it goes */
	uint32_t prot, flags, madv, pad;
};

/* Credentials, set by each thread for itself as its last step (raw setresuid and
 * capset change only the calling thread). */
struct rst_creds {
	uint32_t has;
	uint32_t uid, euid, suid, fsuid;
	uint32_t gid, egid, sgid, fsgid;
	uint32_t secbits, keepcaps_locked, last_cap;
	uint64_t eff, prm, inh, amb;
};

struct rst_thread {
	int32_t tid;			/* in its own PID namespace */
	uint32_t nr_set_tid;
	int32_t set_tid[RST_MAX_PID_LEVELS];	/* its id at each level, innermost first */
	uint32_t has_sas;
	uint64_t sas_sp, sas_size;
	uint32_t sas_flags;
	uint32_t rseq_len, rseq_sig, has_clear_tid;
	uint64_t rseq_addr;
	uint64_t robust_list, robust_len;
	uint64_t clear_tid_addr;
	uint32_t nr_pending;
	uint32_t pad;
	uint64_t pending;	/* address of nr_pending siginfo_t (128 bytes each) */
	uint64_t stack_top;
	uint32_t nr_seccomp;
	uint32_t no_new_privs;
	uint64_t seccomp;	/* struct rst_filter[] */
	uint64_t timer_slack;
	struct rst_creds creds;
	int32_t has_nice, nice;
	uint32_t affinity_len;
	uint8_t affinity[128];
	char comm[16];
};

struct rst_filter {
	uint64_t len;		/* in struct sock_filter units */
	uint64_t prog;		/* address of the instructions */
};

/* what prctl(PR_SET_MM, PR_SET_MM_MAP) takes */
struct rst_mm_map {
	uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv;
	uint32_t auxv_size;
	uint32_t exe_fd;
};

struct restorer_args {
	uint64_t blob_start, blob_len;
	int32_t pid;			/* in its own PID namespace */
	int32_t err_fd;
	uint32_t svc_base;
	uint32_t nr_keep;
	struct rst_range keep[8];	/* sorted; everything else is unmapped */
	uint64_t vdso_cur, vdso_len, vdso_dst;
	uint32_t has_vdso;
	uint32_t nr_vmas;
	uint64_t vmas;			/* struct rst_vma[] */
	uint32_t nr_threads;		/* [0] is the leader */
	uint32_t nr_shared_pending;
	uint64_t threads;		/* struct rst_thread[] */
	uint64_t shared_pending;	/* siginfo_t[] */
	uint32_t has_mm_map;
	uint32_t pad;
	struct rst_mm_map mm_map;
	uint64_t auxv[RST_AUXV_MAX];
	uint64_t cur_rseq_addr;
	uint32_t cur_rseq_len, cur_rseq_sig;
	uint64_t clone_flags;
	uint32_t has_dumpable, dumpable;
};

/* offset of the entry point in the blob */
#define RESTORER_ENTRY_OFFSET 0

extern const unsigned char restorer_blob[];
extern const unsigned int restorer_blob_size;

#endif
