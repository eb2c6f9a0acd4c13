/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The restorer: runs in the restoring task after it jumped here, with no libc
 * and nothing of the old address space it can rely on but this blob. It
 * unmaps the old layout, moves the vDSO and the prepared areas to their
 * places, sets the mm fields, creates the threads, and stops each thread with
 * int3 for the tracer to load the saved registers. The leader then unmaps
 * this blob; the tracer catches it at the syscall's exit.
 */
#include <stddef.h>
#include <stdint.h>
#include <asm/unistd.h>
#include <linux/sched.h>

#include "restore/restorer.h"

#define NOINLINE __attribute__((noinline))
#define ENTRY __attribute__((section(".text.entry"), used))

#define PROT_READ 1
#define PROT_WRITE 2
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define PR_SET_NAME 15
#define PR_SET_MM 35
#define PR_SET_MM_MAP 14
#define RSEQ_FLAG_UNREGISTER 1
#define TASK_SIZE 0x7ffffffff000ULL
#define MMAP_MIN 0x10000ULL

static inline long sys6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long ret;
	register long r10 asm("r10") = a4;
	register long r8 asm("r8") = a5;
	register long r9 asm("r9") = a6;

	asm volatile("syscall"
		     : "=a"(ret)
		     : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
		     : "rcx", "r11", "memory");
	return ret;
}

#define sys0(n) sys6(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(n, a, b, c, d, e) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

static void NOINLINE fail(struct restorer_args *a, int step, long err, uint64_t addr)
{
	struct rst_err e = { step, (int32_t)err, addr };

	sys3(__NR_write, a->err_fd, &e, sizeof(e));
	sys1(__NR_exit_group, 100 + step);
	for (;;)
		;
}

/* Stop for the tracer. SIGTRAP must not be blocked here: a forced SIGTRAP that
 * is blocked resets its action to SIG_DFL, and the task's own action is set. */
static void trap(void)
{
	uint64_t unblock = 1ULL << (5 - 1);

	sys4(__NR_rt_sigprocmask, 1 /* SIG_UNBLOCK */, &unblock, 0, 8);
	asm volatile("int3" ::: "memory");
}

/* Last: from here on the thread may lack the privileges everything above needs. */
static int setup_creds(const struct rst_creds *c)
{
	struct {
		uint32_t version;
		int pid;
	} hdr = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
	struct {
		uint32_t eff, prm, inh;
	} data[2] = {
		{ (uint32_t)c->eff, (uint32_t)c->prm, (uint32_t)c->inh },
		{ (uint32_t)(c->eff >> 32), (uint32_t)(c->prm >> 32), (uint32_t)(c->inh >> 32) },
	};

	if (!c->has)
		return 0;
	if (sys3(__NR_setresgid, c->gid, c->egid, c->sgid) < 0)
		return RST_STEP_CREDS;
	sys1(__NR_setfsgid, c->fsgid);
	if (sys3(__NR_setresuid, c->uid, c->euid, c->suid) < 0)
		return RST_STEP_CREDS;
	sys1(__NR_setfsuid, c->fsuid);
	if (sys2(__NR_capset, &hdr, data) < 0)
		return RST_STEP_CREDS;
	for (uint32_t cap = 0; cap <= c->last_cap && cap < 64; cap++)
		if ((c->amb >> cap) & 1)
			if (sys5(__NR_prctl, 47 /* PR_CAP_AMBIENT */, 2 /* RAISE */, cap, 0, 0) < 0)
				return RST_STEP_CREDS;
	if (c->keepcaps_locked) {
		if (sys2(__NR_prctl, 28 /* PR_SET_SECUREBITS */, c->secbits) < 0)
			return RST_STEP_CREDS;
	} else if (!(c->secbits & (1u << 4) /* SECBIT_KEEP_CAPS */)) {
		if (sys2(__NR_prctl, 8 /* PR_SET_KEEPCAPS */, 0) < 0)
			return RST_STEP_CREDS;
	}
	return 0;
}

static int setup_thread(struct restorer_args *a, struct rst_thread *t)
{
	long r;

	if (t->has_sas) {
		struct {
			uint64_t sp;
			int32_t flags;
			int32_t pad;
			uint64_t size;
		} ss = { t->sas_sp, (int32_t)t->sas_flags, 0, t->sas_size };

		r = sys2(__NR_sigaltstack, &ss, 0);
		if (r < 0)
			return RST_STEP_SIGALTSTACK;
	}
	if (t->rseq_addr) {
		r = sys4(__NR_rseq, t->rseq_addr, t->rseq_len, 0, t->rseq_sig);
		if (r < 0)
			return RST_STEP_RSEQ;
	}
	if (t->robust_list)
		sys2(__NR_set_robust_list, t->robust_list, t->robust_len);
	if (t->has_clear_tid)
		sys1(__NR_set_tid_address, t->clear_tid_addr);
	if (t->timer_slack)
		sys2(__NR_prctl, 29 /* PR_SET_TIMERSLACK */, t->timer_slack);
	if (t->comm[0])
		sys2(__NR_prctl, PR_SET_NAME, t->comm);
	/* scheduling before credentials: a lower nice needs CAP_SYS_NICE */
	if (t->has_nice)
		sys3(__NR_setpriority, 0 /* PRIO_PROCESS */, 0, t->nice);
	if (t->affinity_len)
		sys3(__NR_sched_setaffinity, 0, t->affinity_len, t->affinity);
	if (t->no_new_privs)
		sys5(__NR_prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0);
	for (uint32_t i = 0; i < t->nr_seccomp; i++) {
		const struct rst_filter *f = (const struct rst_filter *)t->seccomp + i;
		struct {
			uint16_t len;
			uint16_t pad[3];
			uint64_t filter;
		} prog = { (uint16_t)f->len, { 0, 0, 0 }, f->prog };

		r = sys3(__NR_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &prog);
		if (r < 0)
			return RST_STEP_SECCOMP;
	}
	for (uint32_t i = 0; i < t->nr_pending; i++) {
		const char *si = (const char *)(t->pending + 128 * (uint64_t)i);
		int sig = *(const int *)si;

		r = sys4(__NR_rt_tgsigqueueinfo, a->pid, t->tid, sig, si);
		if (r < 0)
			return RST_STEP_SIGQUEUE;
	}
	return setup_creds(&t->creds);
}

/* A new thread starts here on its own stack. */
static void NOINLINE __attribute__((used)) thread_main(struct restorer_args *a, struct rst_thread *t)
{
	int step = setup_thread(a, t);

	if (step)
		fail(a, step, 0, t->tid);
	for (;;)
		trap();
}

static long clone3_thread(struct clone_args *ca, struct restorer_args *a, struct rst_thread *t)
{
	long ret;
	register long r12 asm("r12") = (long)a;
	register long r13 asm("r13") = (long)t;
	register long r14 asm("r14") = (long)thread_main;

	asm volatile("syscall\n\t"
		     "test %%rax, %%rax\n\t"
		     "jnz 1f\n\t"
		     "mov %%r12, %%rdi\n\t"
		     "mov %%r13, %%rsi\n\t"
		     "call *%%r14\n\t"
		     "ud2\n"
		     "1:\n\t"
		     : "=a"(ret)
		     : "0"(__NR_clone3), "D"(ca), "S"(sizeof(*ca)), "r"(r12), "r"(r13), "r"(r14)
		     : "rcx", "r11", "memory");
	return ret;
}


static void unmap_rest(struct restorer_args *a)
{
	uint64_t from = MMAP_MIN;

	for (uint32_t i = 0; i <= a->nr_keep; i++) {
		uint64_t to = i < a->nr_keep ? a->keep[i].start : TASK_SIZE;

		if (to > from) {
			long r = sys2(__NR_munmap, from, to - from);

			if (r < 0)
				fail(a, RST_STEP_UNMAP, r, from);
		}
		if (i < a->nr_keep && a->keep[i].end > from)
			from = a->keep[i].end;
	}
}

static void move_vdso(struct restorer_args *a)
{
	long r;

	if (!a->has_vdso || a->vdso_cur == a->vdso_dst)
		return;
	if (a->vdso_dst < a->vdso_cur + a->vdso_len && a->vdso_cur < a->vdso_dst + a->vdso_len) {
		/* overlapping move: park it next to the blob first */
		uint64_t park = a->blob_start + a->blob_len;

		r = sys5(__NR_mremap, a->vdso_cur, a->vdso_len, a->vdso_len,
			 MREMAP_MAYMOVE | MREMAP_FIXED, park);
		if (r < 0)
			fail(a, RST_STEP_VDSO, r, a->vdso_cur);
		a->vdso_cur = park;
	}
	r = sys5(__NR_mremap, a->vdso_cur, a->vdso_len, a->vdso_len, MREMAP_MAYMOVE | MREMAP_FIXED,
		 a->vdso_dst);
	if (r < 0)
		fail(a, RST_STEP_VDSO, r, a->vdso_dst);
}

void ENTRY restorer_main(struct restorer_args *a)
{
	struct rst_vma *vmas = (struct rst_vma *)a->vmas;
	struct rst_thread *threads = (struct rst_thread *)a->threads;
	long r;
	int step;

	if (a->cur_rseq_len) {
		r = sys4(__NR_rseq, a->cur_rseq_addr, a->cur_rseq_len, RSEQ_FLAG_UNREGISTER,
			 a->cur_rseq_sig);
		if (r < 0)
			fail(a, RST_STEP_RSEQ_UNREG, r, a->cur_rseq_addr);
	}
	unmap_rest(a);
	move_vdso(a);
	for (uint32_t i = 0; i < a->nr_vmas; i++) {
		struct rst_vma *v = &vmas[i];
		uint64_t len = v->end - v->start;

		if (!v->premap) {
			/* MAP_PRIVATE 0x02 | MAP_FIXED 0x10 | MAP_ANONYMOUS 0x20, MAP_GROWSDOWN kept */
			r = sys6(__NR_mmap, v->start, len, v->prot, 0x32 | (v->flags & 0x100), -1, 0);
			if (r < 0)
				fail(a, RST_STEP_MREMAP, r, v->start);
		} else if (v->premap != v->start) {
			r = sys5(__NR_mremap, v->premap, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
				 v->start);
			if (r < 0)
				fail(a, RST_STEP_MREMAP, r, v->start);
		}
		r = sys3(__NR_mprotect, v->start, len, v->prot);
		if (r < 0)
			fail(a, RST_STEP_MPROTECT, r, v->start);
		if (v->madv) {
			/* MADV_DONTFORK 10, MADV_DONTDUMP 16, MADV_WIPEONFORK 18,
			 * MADV_HUGEPAGE 14, MADV_NOHUGEPAGE 15, MADV_MERGEABLE 12 */
			static const int advs[] = { 10, 16, 18, 14, 15, 12 };

			for (int b = 0; b < 6; b++)
				if (v->madv & (1u << b))
					sys3(__NR_madvise, v->start, len, advs[b]);
		}
	}
	if (a->has_mm_map) {
		r = sys5(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, &a->mm_map, sizeof(a->mm_map), 0);
		if (r < 0)
			fail(a, RST_STEP_MM_MAP, r, 0);
	}
	/* descriptors of the restore itself */
	sys3(__NR_close_range, a->svc_base, ~0U, 0);

	for (uint32_t i = 1; i < a->nr_threads; i++) {
		struct rst_thread *t = &threads[i];
		struct clone_args ca = {
			.flags = a->clone_flags,
			.stack = t->stack_top - RST_STACK_SIZE,
			.stack_size = RST_STACK_SIZE,
			.set_tid = (uint64_t)t->set_tid,
			.set_tid_size = t->nr_set_tid,
		};

		r = clone3_thread(&ca, a, t);
		if (r < 0)
			fail(a, RST_STEP_THREAD, r, t->tid);
	}
	step = setup_thread(a, &threads[0]);
	if (step)
		fail(a, step, 0, a->pid);
	for (uint32_t i = 0; i < a->nr_shared_pending; i++) {
		const char *si = (const char *)(a->shared_pending + 128 * (uint64_t)i);

		r = sys3(__NR_rt_sigqueueinfo, a->pid, *(const int *)si, si);
		if (r < 0)
			fail(a, RST_STEP_SIGQUEUE, r, 0);
	}
	if (a->has_dumpable)
		sys2(__NR_prctl, 4 /* PR_SET_DUMPABLE */, a->dumpable);
	trap();
	/* The tracer resumes us into this last syscall and loads the saved registers at its exit. */
	sys2(__NR_munmap, a->blob_start, a->blob_len);
	for (;;)
		trap();
}
