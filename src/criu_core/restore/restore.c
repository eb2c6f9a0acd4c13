/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Restore orchestration. Stages, each starting when every task finished the
 * one before (futexes in a shared page):
 *   READ     images read and validated, PIDs checked free; nothing exists yet.
 *   NET      a network namespace of the tree's own is created and filled (links,
 *            addresses, routes), its host ends made; still no task.
 *   MNT      a mount namespace of the tree's own is built by a short-lived helper
 *            (its mounts but proc and sysfs, pivoted into the tree's root
 *            filesystem) and kept by a descriptor; still no task.
 *   OPEN     every file object and shared memory object opened here, above all
 *            target fd numbers, with lxc-cr inside the tree's network and mount
 *            namespaces (sockets are born there, paths are the tree's); the tree
 *            is forked with clone3(set_tid) from inside them too, and lxc-cr
 *            goes back. With a PID namespace of its own, the root opens the
 *            file objects instead, first thing (files_in_root()). With the
 *            tree's namespaces those of a container below the root (a
 *            controller's tree, ctx->ct), lxc-cr opens the objects of the
 *            tasks above it in their own mount namespace (mnt_outer.c) and
 *            clones the root there; the container's root is cloned by its
 *            parent from inside the container's namespaces and opens its
 *            part's objects itself.
 *   FORKED   every task exists: process groups are joined, descriptors put in
 *            place, task state set, memory prepared at temporary addresses.
 *   PREPARED every task is seized by us; seccomp and credentials go in, and
 *            each task jumps into the restorer.
 *   TRAPPED  every thread stopped at the restorer's int3: registers are loaded,
 *            the blob unmapped, and all threads released together.
 * A failure before the release kills every task created and leaves images as
 * they were.
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "fault.h"
#include "restore/restore.h"
#include "restore/restorer.h"
#include "fd/files.h"
#include "mem/vma.h"
#include "ns/ns.h"
#include "ns/cgroup.h"
#include "ns/net.h"
#include "task/core.h"
#include "proc_parse.h"

#ifndef PTRACE_O_SUSPEND_SECCOMP
#define PTRACE_O_SUSPEND_SECCOMP (1 << 21)
#endif

enum {
	STAGE_FORK = 0,
	STAGE_PREPARE = 1,
	STAGE_GO = 2,
};

struct rst_shared {
	_Atomic int32_t stage;
	_Atomic int32_t count;
	_Atomic int32_t abort;
	_Atomic int32_t hpid[];		/* per item: its PID seen by lxc-cr */
};

static size_t shared_size(unsigned nr_items)
{
	return (sizeof(struct rst_shared) + sizeof(int32_t) * nr_items + PAGE_SIZE - 1) &
	       ~(size_t)(PAGE_SIZE - 1);
}

/* In the task: tell the tracer our PID in its namespace. The host's /proc
 * names its own PIDs, whatever PID namespace the reader is in; it is reached
 * through a descriptor, as the root may have mounted a /proc of its own. */
static void task_report_hpid(struct rst_ctx *ctx, struct pstree_item *item)
{
	char buf[32];
	ssize_t n = readlinkat(ctx->host_proc, "self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return;
	buf[n] = '\0';
	for (unsigned i = 0; i < ctx->nr_items; i++)
		if (ctx->items[i] == item)
			atomic_store(&ctx->shared->hpid[i], atoi(buf));
}

/* In the tracer: the PID of item i in lxc-cr's namespace, 0 while unknown. */
static pid_t item_hpid(struct rst_ctx *ctx, unsigned i)
{
	struct pstree_item *it = ctx->items[i];

	if (!it->hpid)
		it->hpid = atomic_load(&ctx->shared->hpid[i]);
	return it->hpid;
}

struct rst_task {
	bool trapped_all;
	unsigned nr_trapped;
	bool *trapped;
};

static long futex(_Atomic int32_t *addr, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

static void task_report(struct rst_shared *sh)
{
	atomic_fetch_add(&sh->count, 1);
	futex(&sh->count, FUTEX_WAKE, 1, NULL);
}

static void task_abort(struct rst_shared *sh)
{
	atomic_store(&sh->abort, 1);
	futex(&sh->count, FUTEX_WAKE, 1, NULL);
	_exit(1);
}

static void task_wait_stage(struct rst_shared *sh, int stage)
{
	for (;;) {
		int s = atomic_load(&sh->stage);

		if (s >= stage)
			return;
		if (atomic_load(&sh->abort))
			_exit(1);
		futex(&sh->stage, FUTEX_WAIT, s, NULL);
	}
}

static bool task_dead(pid_t hpid)
{
	int state = 0, st;

	/* not created yet, or dead and not reaped (no task reaps during a restore) */
	return hpid && proc_parse_stat_state(hpid, &state, &st) == 0 && state == TASK_ZOMBIE;
}

/* Wait until n tasks reported; fails if one aborted or died. */
static int wait_count(struct rst_ctx *ctx, int n, const char *what)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	uint64_t deadline = now_ns() + 120ULL * 1000000000ULL;

	for (;;) {
		int c = atomic_load(&ctx->shared->count);

		if (atomic_load(&ctx->shared->abort)) {
			pr_err("a task failed while %s", what);
			return -EINVAL;
		}
		if (c >= n)
			return 0;
		futex(&ctx->shared->count, FUTEX_WAIT, c, &ts);
		for (unsigned i = 0; i < ctx->nr_items; i++) {
			struct pstree_item *it = ctx->items[i];

			if (it->pe->state != TASK_ZOMBIE && it->rst && task_dead(item_hpid(ctx, i))) {
				pr_err("pid %d: died while %s", it->pid, what);
				return -ESRCH;
			}
		}
		if (now_ns() > deadline) {
			pr_err("tasks did not finish %s in time", what);
			return -ETIMEDOUT;
		}
	}
}

static void advance(struct rst_ctx *ctx, int stage)
{
	atomic_store(&ctx->shared->count, 0);
	atomic_store(&ctx->shared->stage, stage);
	futex(&ctx->shared->stage, FUTEX_WAKE, INT32_MAX, NULL);
}

/* clone3() with set_tid: tids holds n ids, innermost PID namespace first. */
static pid_t clone_with_pid(const pid_t *tids, unsigned n, int exit_signal, uint64_t flags)
{
	struct clone_args ca = {
		.flags = flags,
		.exit_signal = exit_signal,
		.set_tid = (uint64_t)tids,
		.set_tid_size = n,
	};

	long r;

	/* A PID whose task is dying (a tree just killed by its dump) is still
	 * taken for a moment after /proc stopped showing it. */
	for (int i = 0; i < 200; i++) {
		r = syscall(SYS_clone3, &ca, sizeof(ca));
		if (r >= 0 || errno != EEXIST)
			break;
		usleep(10000);
	}
	return r;
}

/* Session and group leaders make theirs as soon as they exist, so that the
 * others can join in STAGE_PREPARE whatever order the tasks run in. */
static int task_lead(struct pstree_item *item)
{
	pid_t own = item_vpid(item, 0);	/* getsid() and getpgid() answer in its namespace */

	if (item->pe->sid == (uint32_t)item->pid && getsid(0) != own && setsid() < 0) {
		pr_perror("pid %d: cannot start its session", item->pid);
		return -errno;
	}
	if (item->pe->pgid == (uint32_t)item->pid && getpgid(0) != own && setpgid(0, 0) < 0) {
		pr_perror("pid %d: cannot start its process group", item->pid);
		return -errno;
	}
	return 0;
}

/*
 * With a PID namespace of its own, the root opens every file object, first
 * thing, instead of lxc-cr: sockets made by a helper with their creator's
 * PID (SO_PEERCRED, unix.c) must be made in the tree's PID namespace to
 * show that PID there. Everything else is as in lxc-cr: the root was born
 * in the namespaces lxc-cr was in, and its children inherit what it opened.
 */
static bool files_in_root(struct rst_ctx *ctx)
{
	return ns_root_flags(ctx) & CLONE_NEWPID;
}

static void __attribute__((noreturn)) task_main(struct rst_ctx *ctx, struct pstree_item *item);
static void zombie_main(struct rst_ctx *ctx, struct pstree_item *item);

/*
 * A child whose session is neither its own nor its parent's joined a session
 * led by a sibling (which may be dead now): the sibling creates it, after
 * setsid(), with CLONE_PARENT so that it still is our child.
 */
static bool adopted(struct pstree_item *c)
{
	return c->pe->sid != (uint32_t)c->pid && c->parent && c->pe->sid != c->parent->pe->sid;
}

static struct rst_ctx *task_ctx;

/*
 * Create child c of the calling task with its ids at every PID namespace
 * level, innermost first; the init of a nested namespace with CLONE_NEWPID.
 * Such an init cannot see a process group of its parent's namespace: the
 * parent moves it there before it runs on.
 */
static pid_t clone_child(struct pstree_item *c, uint64_t flags)
{
	struct rst_ctx *ctx = task_ctx;
	int esig = c->rcore && c->rcore->has_exit_signal ? c->rcore->exit_signal : SIGCHLD;
	pid_t tids[NS_MAX_PID_LEVELS], pgid = 0;
	int hold[2] = { -1, -1 }, own[3] = { -1, -1, -1 };
	long r;

	for (unsigned l = 0; l < c->nr_levels; l++)
		tids[l] = c->vtids[c->nr_levels - 1 - l];
	if (c->pidns_init) {
		flags |= CLONE_NEWPID;
		if (c->pe->pgid != (uint32_t)c->pid &&
		    !ns_pid_for(ctx->items, ctx->nr_items, c, c->pe->pgid)) {
			pgid = ns_pid_for(ctx->items, ctx->nr_items, c->parent, c->pe->pgid);
			if (pgid && pipe2(hold, O_CLOEXEC) < 0)
				return -1;
		}
	}
	/* the container's root: born in the namespaces made for it */
	if (c == ctx->ct) {
		if (ns_ct_enter(ctx, own) < 0) {
			int err = errno;

			ns_ct_leave(own);
			errno = err;
			return -1;
		}
		flags |= ns_ct_flags(ctx);
	}
	r = clone_with_pid(tids, c->nr_levels, flags & CLONE_PARENT ? 0 : esig, flags);
	if (c == ctx->ct && r != 0) {
		int err = errno;

		if (ns_ct_leave(own) < 0) {
			if (r > 0)
				kill(r, SIGKILL);
			return -1;
		}
		errno = err;
	}
	if (r == 0) {
		char b;

		for (int k = 0; k < 3; k++)
			if (own[k] >= 0)
				close(own[k]);

		if (hold[0] >= 0) {
			close(hold[1]);
			/* until the parent closed its end */
			while (read(hold[0], &b, 1) < 0 && errno == EINTR)
				;
			close(hold[0]);
		}
		if (c->pe->state == TASK_ZOMBIE)
			zombie_main(NULL, c);
		task_main(NULL, c);
	}
	if (hold[0] >= 0) {
		int err = errno;

		if (r > 0 && getpgid(r) != pgid && setpgid(r, pgid) < 0) {
			err = errno;
			pr_perror("pid %d: cannot move the init of its nested PID namespace %d into process group %u",
				  c->parent->pid, c->pid, c->pe->pgid);
			kill(r, SIGKILL);
			r = -1;
		}
		close(hold[0]);
		close(hold[1]);
		errno = err;
	}
	return r;
}

/* Create the siblings that joined item's session. */
static int create_adopted(struct pstree_item *item)
{
	struct pstree_item *p = item->parent;

	if (!p || item->pe->sid != (uint32_t)item->pid)
		return 0;
	for (int i = 0; i < p->nr_children; i++) {
		struct pstree_item *c = p->children[i];

		if (!adopted(c) || c->pe->sid != (uint32_t)item->pid)
			continue;
		if (clone_child(c, CLONE_PARENT) < 0) {
			pr_perror("pid %d: cannot create %d in its session", item->pid, c->pid);
			return -errno;
		}
	}
	return 0;
}

static void zombie_main(struct rst_ctx *ctx, struct pstree_item *item)
{
	int st = item->pe->has_exit_status ? item->pe->exit_status : 0;

	(void)ctx;
	task_report_hpid(task_ctx, item);
	task_lead(item);
	if (create_adopted(item) < 0)
		task_abort(task_ctx->shared);
	if (WIFSIGNALED(st)) {
		sigset_t all;

		signal(WTERMSIG(st), SIG_DFL);
		sigemptyset(&all);
		sigaddset(&all, WTERMSIG(st));
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		prctl(PR_SET_DUMPABLE, 0);
		kill(getpid(), WTERMSIG(st));
	}
	_exit(WEXITSTATUS(st));
}

static void drain_signals(void)
{
	sigset_t all;
	struct timespec zero = { 0, 0 };
	siginfo_t si;

	sigfillset(&all);
	while (sigtimedwait(&all, &si, &zero) > 0)
		;
}

static void jump_to_restorer(struct restorer_args *a, uint64_t stack, uint64_t entry)
{
	asm volatile("mov %0, %%rsp\n\t"
		     "mov %1, %%rdi\n\t"
		     "call *%2\n\t"
		     "ud2"
		     :
		     : "r"(stack), "r"(a), "r"(entry)
		     : "memory");
	__builtin_unreachable();
}

static void __attribute__((noreturn)) task_main(struct rst_ctx *ctx, struct pstree_item *item)
{
	struct rst_shared *sh;

	if (!ctx)
		ctx = task_ctx;
	sh = ctx->shared;
	struct restorer_args *a;
	uint64_t stack, entry;
	char prefix[32];
	pid_t pgid;

	snprintf(prefix, sizeof(prefix), "%d: ", item->pid);
	log_set_prefix(prefix);
	task_report_hpid(ctx, item);
	if (!item->parent && files_in_root(ctx) && files_open_all(ctx) < 0)
		task_abort(sh);
	/* a container below the root opens its part in its namespaces */
	if (item == ctx->ct && files_open_tasks(ctx, item, true) < 0)
		task_abort(sh);
	/* into its cgroups before it forks, long before it is seized */
	if (cgroup_enter(ctx, item) < 0)
		task_abort(sh);
	/* the root (or the container's), in its new namespaces: what they hold,
	 * before any child */
	if ((ctx->ct ? item == ctx->ct : !item->parent) && ns_restore_root(ctx) < 0)
		task_abort(sh);
	if (task_lead(item) < 0)
		task_abort(sh);
	/* before its children are forked: they inherit the controlling terminal */
	if (item->pe->sid == (uint32_t)item->pid && tty_restore_ctty(ctx, item) < 0)
		task_abort(sh);
	if (create_adopted(item) < 0)
		task_abort(sh);
	for (int i = 0; i < item->nr_children; i++) {
		struct pstree_item *c = item->children[i];

		if (adopted(c))
			continue;
		if (clone_child(c, 0) < 0) {
			pr_perror("pid %d: cannot create child %d", item->pid, c->pid);
			task_abort(sh);
		}
	}
	task_report(sh);
	task_wait_stage(sh, STAGE_PREPARE);

	/* a group outside its PID namespace (0 here) is the one it was born in */
	pgid = ns_pid_for(ctx->items, ctx->nr_items, item, item->pe->pgid);
	if (!pgid && item->nr_levels == 1)
		pgid = item->pe->pgid;	/* outside the tree (--shell-job) */
	if (pgid && getpgid(0) != pgid) {
		if (setpgid(0, pgid) < 0 && !(ctx->opts->shell_job && !item->parent)) {
			pr_perror("pid %d: cannot join process group %u", item->pid, item->pe->pgid);
			task_abort(sh);
		}
	}
	if (files_restore_task(ctx, item) < 0 || tty_restore_pgrp(ctx, item) < 0 ||
	    restore_task_early(ctx, item) < 0 || vma_premap(ctx, item, &a, &stack, &entry) < 0 ||
	    locks_restore_task(ctx, item) < 0)
		task_abort(sh);
	a->err_fd = ctx->err_fd;
	task_report(sh);
	task_wait_stage(sh, STAGE_GO);

	drain_signals();
	if (restore_task_creds(ctx, item) < 0)
		task_abort(sh);
	jump_to_restorer(a, stack, entry);
	_exit(1);
}

/* ---------------------------------------------------------------- images */

static int read_pstree(struct rst_ctx *ctx)
{
	struct cr_img *img = img_open(&ctx->dir, IMG_PSTREE, 0, false);
	PstreeEntry *pe;
	int ret;

	if (!img)
		return -EINVAL;
	while ((ret = img_read_pb(img, &pstree_entry__descriptor, (void **)&pe)) > 0) {
		struct pstree_item *item, **n;

		if (ctx->nr_items >= 65536 || !pe->pid || pe->pid > 4194304 ||
		    pe->n_threads < 1 || pe->n_threads > RST_MAX_THREADS || pe->threads[0] != pe->pid ||
		    (pe->state != TASK_ALIVE && pe->state != TASK_ZOMBIE) ||
		    pstree_find(ctx->items, ctx->nr_items, pe->pid)) {
			pr_err("image %s: entry for pid %u is invalid", img->name, pe->pid);
			img_free_pb(pe);
			ret = -EINVAL;
			break;
		}
		item = xzalloc(sizeof(*item));
		n = xrealloc_array(ctx->items, ctx->nr_items + 1, sizeof(*n));
		if (!item || !n) {
			free(item);
			img_free_pb(pe);
			ret = -ENOMEM;
			break;
		}
		ctx->items = n;
		item->pe = pe;
		item->pid = pe->pid;
		item->ppid = pe->ppid;
		item->pgid = pe->pgid;
		item->sid = pe->sid;
		item->nr_threads = pe->n_threads;
		item->threads = xzalloc(sizeof(pid_t) * pe->n_threads);
		if (!item->threads) {
			free(item);
			ret = -ENOMEM;
			break;
		}
		for (size_t t = 0; t < pe->n_threads; t++)
			item->threads[t] = pe->threads[t];
		if (ctx->nr_items) {
			item->parent = pstree_find(ctx->items, ctx->nr_items, pe->ppid);
			if (!item->parent || item->parent->pe->state == TASK_ZOMBIE) {
				pr_err("image %s: parent %u of pid %u is not before it", img->name,
				       pe->ppid, pe->pid);
				ctx->items[ctx->nr_items++] = item;
				ret = -EINVAL;
				break;
			}
			n = xrealloc_array(item->parent->children, item->parent->nr_children + 1,
					   sizeof(*n));
			if (!n) {
				ctx->items[ctx->nr_items++] = item;
				ret = -ENOMEM;
				break;
			}
			item->parent->children = n;
			n[item->parent->nr_children++] = item;
		} else if (pe->state != TASK_ALIVE || pe->pid != ctx->inv->root_pid) {
			pr_err("image %s: the root is not pid %u", img->name, ctx->inv->root_pid);
			ctx->items[ctx->nr_items++] = item;
			ret = -EINVAL;
			break;
		}
		ctx->items[ctx->nr_items++] = item;
		if ((ret = ns_pstree_read(item)))
			break;
	}
	img_close(img);
	if (!ret && !ctx->nr_items) {
		pr_err("image pstree.img: holds no process");
		ret = -EINVAL;
	}
	if (!ret)
		ret = ns_pstree_check(ctx->items, ctx->nr_items);
	return ret;
}

static int read_cores(struct rst_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *item = ctx->items[i];
		struct cr_img *img;
		int ret;

		if (item->pe->state == TASK_ZOMBIE)
			continue;
		img = img_open(&ctx->dir, IMG_CORE, item->pid, false);
		if (!img)
			return -EINVAL;
		ret = img_read_one(img, &process_core__descriptor, (void **)&item->rcore);
		item->rtcores = xzalloc(sizeof(ThreadCore *) * item->nr_threads);
		if (!item->rtcores)
			ret = -ENOMEM;
		for (unsigned t = 0; !ret && t < item->nr_threads; t++)
			ret = img_read_one(img, &thread_core__descriptor, (void **)&item->rtcores[t]);
		img_close(img);
		if (ret)
			return ret;
		ret = validate_task_core(item, item->rcore, item->rtcores);
		if (!ret)
			ret = vma_validate(item, item->rcore->mm);
		if (ret)
			return ret;
		for (size_t f = 0; f < item->rcore->n_fds; f++) {
			/* bound it before any int comparison: 0x80000000 must not pass as -1 */
			if (item->rcore->fds[f]->fd > 1u << 20) {
				pr_err("core-%d.img: fd %u is out of range", item->pid,
				       item->rcore->fds[f]->fd);
				return -EINVAL;
			}
			if ((int)item->rcore->fds[f]->fd > ctx->max_target_fd)
				ctx->max_target_fd = item->rcore->fds[f]->fd;
		}
	}
	return 0;
}

static int check_pids_free(struct rst_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *item = ctx->items[i];

		for (unsigned t = 0; t < item->nr_threads; t++) {
			char path[32];

			snprintf(path, sizeof(path), "/proc/%d", item->threads[t]);
			/* a tree killed by its dump may still be on its way out: give its
			 * parent a moment to reap it */
			for (int w = 0; w < 40 && access(path, F_OK) == 0; w++)
				usleep(50000);
			if (access(path, F_OK) == 0) {
				pr_err("pid %d is taken by another process on this host; cannot restore %s %d",
				       item->threads[t], t ? "thread" : "process", item->threads[t]);
				return -EEXIST;
			}
		}
	}
	return 0;
}

static void free_items(struct rst_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *item = ctx->items[i];

		img_free_pb(item->pe);
		img_free_pb(item->rcore);
		if (item->rtcores)
			for (unsigned t = 0; t < item->nr_threads; t++)
				img_free_pb(item->rtcores[t]);
		free(item->rtcores);
		if (item->hthreads != item->threads)
			free(item->hthreads);
		free(item->threads);
		free(item->vtids);
		free(item->children);
		free(item);
	}
	free(ctx->items);
	ctx->items = NULL;
	ctx->nr_items = 0;
}

/* ---------------------------------------------------------------- tracer */

static int wait_traps(struct rst_ctx *ctx, int err_fd)
{
	unsigned need = 0, got = 0, faults = 0;

	for (unsigned i = 0; i < ctx->nr_items; i++)
		if (ctx->items[i]->pe->state == TASK_ALIVE)
			need += ctx->items[i]->nr_threads;
	while (got < need) {
		int status;
		pid_t tid = waitpid(-1, &status, __WALL);

		if (tid < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("waiting for restored threads");
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			struct rst_err e = { 0, 0, 0 };

			if (read(err_fd, &e, sizeof(e)) == sizeof(e))
				pr_err("pid %d: the restorer failed at step %d: %s (at 0x%llx)", tid,
				       e.step, strerror(-e.err), (unsigned long long)e.addr);
			else
				pr_err("pid %d: died during restore (status 0x%x)", tid, status);
			return -ESRCH;
		}
		if (!WIFSTOPPED(status))
			continue;
		if (status >> 16) {
			/* clone event or the new thread's first stop */
			ptrace(PTRACE_CONT, tid, NULL, NULL);
			continue;
		}
		if (WSTOPSIG(status) == SIGTRAP) {
			got++;
			continue;
		}
		if (WSTOPSIG(status) == SIGSEGV || WSTOPSIG(status) == SIGBUS ||
		    WSTOPSIG(status) == SIGILL || WSTOPSIG(status) == SIGFPE) {
			siginfo_t si = { 0 };

			/* a fault of the restorer: retried a few times (suppressed, as
			 * before), then the restore fails instead of looping forever */
			ptrace(PTRACE_GETSIGINFO, tid, NULL, &si);
			if (++faults > 16) {
				pr_err("thread %d: signal %d at %p in the restorer; the restore fails", tid,
				       WSTOPSIG(status), si.si_addr);
				return -EFAULT;
			}
			pr_warn("thread %d: signal %d at %p in the restorer, retried", tid,
				WSTOPSIG(status), si.si_addr);
			ptrace(PTRACE_CONT, tid, NULL, NULL);
			continue;
		}
		/* anything else is delivered after the restore, as it would have been */
		pr_warn("thread %d: signal %d during restore, suppressed", tid, WSTOPSIG(status));
		ptrace(PTRACE_CONT, tid, NULL, NULL);
	}
	return 0;
}

/*
 * RLIMIT_AS and RLIMIT_DATA below what a task maps while it is still a copy
 * of lxc-cr (a sanitizer build reserves terabytes) would make the restorer
 * fail: the task leaves them (restore_task_creds()) and they are set here,
 * once the task has its own memory layout.
 */
static void restore_late_rlimits(struct rst_ctx *ctx)
{
	static const int late[] = { RLIMIT_AS, RLIMIT_DATA };

	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *it = ctx->items[i];

		if (it->pe->state != TASK_ALIVE || !it->rcore)
			continue;
		for (unsigned k = 0; k < 2; k++) {
			struct rlimit rl;

			if ((size_t)late[k] >= it->rcore->n_rlimits)
				continue;
			rl.rlim_cur = it->rcore->rlimits[late[k]]->cur;
			rl.rlim_max = it->rcore->rlimits[late[k]]->max;
			if (prlimit(it->hpid, late[k], &rl, NULL) < 0)
				pr_info("pid %d: limit %d left as the task set it: %s", it->pid, late[k],
					strerror(errno));
		}
	}
}

static int syscall_step(pid_t tid)
{
	int status;

	if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0)
		return -errno;
	if (waitpid(tid, &status, __WALL) < 0)
		return -errno;
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80)) {
		pr_err("thread %d: unexpected stop 0x%x leaving the restorer", tid, status);
		return -EINVAL;
	}
	return 0;
}

/* The tids of every restored thread as lxc-cr sees them: the same without a
 * PID namespace of its own, else from each one's NSpid. */
static int map_threads(struct rst_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *item = ctx->items[i];
		pid_t *tids = NULL;
		unsigned nr = 0;
		int ret;

		if (item->pe->state != TASK_ALIVE)
			continue;
		if (!(ns_root_flags(ctx) & CLONE_NEWPID)) {
			item->hthreads = item->threads;
			continue;
		}
		item->hthreads = xzalloc(sizeof(pid_t) * item->nr_threads);
		if (!item->hthreads)
			return -ENOMEM;
		ret = proc_list_tids(item->hpid, &tids, &nr);
		if (ret < 0)
			return ret;
		for (unsigned k = 0; k < nr; k++) {
			pid_t v = ns_proc_vpid(item->hpid, tids[k], item->nr_levels - 1);

			for (unsigned t = 0; v > 0 && t < item->nr_threads; t++)
				if (item->threads[t] == v)
					item->hthreads[t] = tids[k];
		}
		free(tids);
		for (unsigned t = 0; t < item->nr_threads; t++)
			if (!item->hthreads[t]) {
				pr_err("pid %d: thread %d was not found after the restorer", item->pid,
				       item->threads[t]);
				return -ESRCH;
			}
	}
	return 0;
}

static int finish_tasks(struct rst_ctx *ctx)
{
	int ret;

	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *item = ctx->items[i];

		if (item->pe->state != TASK_ALIVE)
			continue;
		for (unsigned t = 1; t < item->nr_threads; t++) {
			ret = restore_thread_regs(item->hthreads[t], item->rtcores[t]);
			if (ret)
				return ret;
		}
		/* leader: into munmap(blob) and out of it */
		ret = syscall_step(item->hpid);
		if (!ret)
			ret = syscall_step(item->hpid);
		if (!ret)
			ret = restore_thread_regs(item->hpid, item->rtcores[0]);
		if (ret) {
			pr_err("pid %d: cannot leave the restorer", item->pid);
			return ret;
		}
	}
	return 0;
}

static void release_tasks(struct rst_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *item = ctx->items[i];

		if (item->pe->state != TASK_ALIVE)
			continue;
		for (unsigned t = 0; t < item->nr_threads; t++)
			if (ptrace(PTRACE_DETACH, item->hthreads[t], NULL,
				   (void *)(long)(t == 0 && item->pe->has_stopped && item->pe->stopped ?
						  SIGSTOP : 0)) < 0)
				pr_perror("thread %d: detach", item->hthreads[t]);
	}
}

static void kill_tasks(struct rst_ctx *ctx)
{
	pid_t *tids = NULL;
	unsigned nr = 0;

	/* the threads we may trace, listed before they go */
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *item = ctx->items[i];
		pid_t *t = NULL;
		unsigned n = 0;
		void *m;

		if (!item->rst || item->pe->state != TASK_ALIVE || !item_hpid(ctx, i) ||
		    proc_list_tids(item->hpid, &t, &n) < 0)
			continue;
		/* a task that failed is a zombie already: no thread left */
		m = n ? xrealloc_array(tids, nr + n, sizeof(*tids)) : NULL;
		if (m) {
			tids = m;
			memcpy(tids + nr, t, sizeof(*t) * n);
			nr += n;
		}
		free(t);
	}
	for (unsigned i = ctx->nr_items; i-- > 0;) {
		struct pstree_item *item = ctx->items[i];

		if (item->rst && item_hpid(ctx, i))
			kill(item->hpid, SIGKILL);
	}
	/* A dead thread we trace stays until we wait for it, and the init of a
	 * PID namespace exits only once every task in it is reaped: reap the
	 * traced ones, the deepest first (a thread not traced: ECHILD). */
	for (unsigned k = nr; k-- > 0;)
		while (waitpid(tids[k], NULL, __WALL) < 0 && errno == EINTR)
			;
	free(tids);
	if (ctx->nr_items && ctx->items[0]->rst)
		waitpid(ctx->items[0]->hpid, NULL, __WALL);
}

static int write_pidfile(const char *path, pid_t pid)
{
	_cleanup_free_ char *tmp = xsprintf("%s.tmp.%d", path, getpid());
	char buf[32];
	int fd, n, ret;

	if (!tmp)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		pr_perror("pidfile %s: cannot create", path);
		return -errno;
	}
	n = snprintf(buf, sizeof(buf), "%d", pid);
	ret = write_all(fd, buf, n);
	close(fd);
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		pr_err("pidfile %s: cannot write: %s", path, strerror(-ret));
	return ret;
}

int crc_restore(const struct crc_restore_opts *opts, pid_t *root_pid, struct crc_stats *stats)
{
	struct rst_ctx ctx = { .opts = opts, .stats = stats, .host_proc = -1 };
	sigset_t all, old;
	int ret, errp[2] = { -1, -1 }, nr_alive = 0;
	uint64_t t0 = now_ns();
	struct rlimit rl;
	pid_t root;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	ret = img_dir_open(&ctx.dir, opts->images_dir, false);
	if (ret)
		goto out;
	{
		struct cr_img *img = img_open(&ctx.dir, IMG_INVENTORY, 0, false);

		if (!img) {
			ret = -EINVAL;
			goto out;
		}
		ret = img_read_one(img, &inventory_entry__descriptor, (void **)&ctx.inv);
		img_close(img);
		if (ret)
			goto out;
		if (ctx.inv->img_version != IMG_VERSION) {
			pr_err("image %s/inventory.img: version %u, this lxc-cr restores version %u",
			       opts->images_dir, ctx.inv->img_version, IMG_VERSION);
			ret = -EINVAL;
			goto out;
		}
		if (ctx.inv->has_xsave_size && ctx.inv->xsave_size > xsave_size()) {
			pr_err("image %s: saved on a CPU with a larger FPU state (%u > %u bytes)",
			       opts->images_dir, ctx.inv->xsave_size, xsave_size());
			ret = -EINVAL;
			goto out;
		}
	}
	if ((ret = ns_read(&ctx)) || (ret = read_pstree(&ctx)) || (ret = ns_ct_find(&ctx)) ||
	    (ret = read_cores(&ctx)) || (ret = cgroup_read(&ctx)) || (ret = fuse_restore_read(&ctx)) ||
	    (ret = files_collect(&ctx)))
		goto out;
	if (!(ns_root_flags(&ctx) & CLONE_NEWPID))
		for (unsigned i = 0; i < ctx.nr_items; i++)
			ctx.items[i]->hpid = ctx.items[i]->pid;
	/* in a PID namespace of its own the tree's PIDs are free by construction */
	if (!(ns_root_flags(&ctx) & CLONE_NEWPID) && (ret = check_pids_free(&ctx)))
		goto out;

	/* service fds above every target fd */
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	ctx.svc_base = max_t(int, ctx.max_target_fd + 1, 3) + 1;
	if ((uint64_t)ctx.svc_base + ctx.nr_files + 64 > rl.rlim_cur) {
		pr_err("fd %d is beyond this host's open file limit", ctx.max_target_fd);
		ret = -EMFILE;
		goto out;
	}
	ctx.svc_next = ctx.svc_base;
	ctx.dir.dfd = rst_svc_fd(&ctx, ctx.dir.dfd);
	if ((ret = log_move_fd(ctx.svc_next)) > 0)
		ctx.svc_next = ret + 1;
	if (pipe2(errp, O_CLOEXEC | O_DIRECT) < 0) {
		ret = -errno;
		goto out;
	}
	/* several tasks hold the write end: reading must not wait for them */
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	errp[0] = rst_svc_fd(&ctx, errp[0]);
	errp[1] = rst_svc_fd(&ctx, errp[1]);
	ctx.err_fd = errp[1];
	ctx.shared = mmap(NULL, shared_size(ctx.nr_items), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctx.shared == MAP_FAILED) {
		ctx.shared = NULL;
		ret = -errno;
		goto out;
	}
	/* a container below the root: its IPC namespace is kept, the root is
	 * born in lxc-cr's (ns_ct_hold()) */
	if ((ret = ns_restore_prepare(&ctx)) || (ret = ns_ct_hold(&ctx)))
		goto out;
	if (ctx.ns && ctx.ns->net && (ret = net_restore_prepare(&ctx, ctx.ns->net)))
		goto out;
	ctx.host_proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx.host_proc < 0) {
		ret = -errno;
		pr_perror("cannot open /proc");
		goto out;
	}
	ctx.host_proc = rst_svc_fd(&ctx, ctx.host_proc);
	files_set_proc(ctx.host_proc);
	/* STAGE MNT: the tree's mount namespace, before any of its processes.
	 * With a container below the root, that of the tasks above it first
	 * (the container's is a copy of it, sharing its superblocks), and the
	 * objects of those tasks opened there before the container's is built:
	 * its /dev/console is bound on the console pty they hold, not on a
	 * stand-in; the container's part is opened by its root (task_main()) */
	/* FUSE: a /dev/fuse per mount, inherited by the helpers that mount them */
	if ((ret = fuse_restore_prepare(&ctx)) || (ret = mnt_outer_prepare(&ctx)))
		goto out;
	if (ctx.ct && ((ret = shmem_prepare(&ctx)) || (ret = mnt_outer_enter()) ||
		       (ret = files_open_tasks(&ctx, ctx.ct, false)) || (ret = mnt_outer_leave())))
		goto out;
	if ((ret = mnt_restore_prepare(&ctx)) || (ret = fault_inject("after-mounts")))
		goto out;
	if ((!ctx.ct && (ret = shmem_prepare(&ctx))) || (ret = cgroup_prepare(&ctx)) ||
	    (ret = mnt_restore_sources(&ctx)))
		goto out;
	if (ctx.ct) {
		/* the root is born in lxc-cr's namespaces but for its mount namespace */
		if ((ret = mnt_outer_enter()))
			goto out;
	} else if ((ret = net_enter()) || (ret = mnt_enter()) ||
		   (!files_in_root(&ctx) && (ret = files_open_all(&ctx)))) {
		goto out;
	}

	for (unsigned i = 0; i < ctx.nr_items; i++)
		if (ctx.items[i]->pe->state == TASK_ALIVE)
			nr_alive++;
	/* STAGE_FORK */
	root = ctx.ns && ctx.ns->user ? ns_clone_root(&ctx) :
					clone_with_pid(&ctx.items[0]->pid, 1, SIGCHLD, ns_root_flags(&ctx));
	if (root < 0) {
		pr_perror("cannot create the root process %d", ctx.items[0]->pid);
		ret = -errno;
		goto out;
	}
	if (root == 0) {
		task_ctx = &ctx;
		task_main(&ctx, ctx.items[0]);
	}
	ctx.items[0]->hpid = root;
	for (unsigned i = 0; i < ctx.nr_items; i++)
		ctx.items[i]->rst = (void *)1;
	if ((ret = mnt_outer_leave()) || (ret = mnt_leave()) || (ret = net_leave()) ||
	    (ret = ns_restore_leave()))
		goto out_kill;
	ret = wait_count(&ctx, nr_alive, "forking");
	if (!ret)
		ret = fault_inject("after-fork");
	if (ret)
		goto out_kill;
	/* zombies must be dead before their parents drain their signals */
	for (unsigned i = 0; i < ctx.nr_items; i++) {
		struct pstree_item *it = ctx.items[i];
		int tries = 10000;

		while (it->pe->state == TASK_ZOMBIE && !task_dead(item_hpid(&ctx, i)) && --tries)
			usleep(100);
	}
	advance(&ctx, STAGE_PREPARE);
	ret = wait_count(&ctx, nr_alive, "preparing");
	if (ret)
		goto out_kill;
	for (unsigned i = 0; i < ctx.nr_items; i++) {
		struct pstree_item *it = ctx.items[i];

		if (it->pe->state != TASK_ALIVE)
			continue;
		if (!item_hpid(&ctx, i)) {
			pr_err("pid %d: did not report its host pid", it->pid);
			ret = -ESRCH;
			goto out_kill;
		}
		if (ptrace(PTRACE_SEIZE, it->hpid, NULL,
			   (void *)(long)(PTRACE_O_TRACECLONE | PTRACE_O_TRACESYSGOOD |
					  PTRACE_O_SUSPEND_SECCOMP)) < 0) {
			pr_perror("pid %d: cannot seize the restored task", it->pid);
			ret = -errno;
			goto out_kill;
		}
	}
	advance(&ctx, STAGE_GO);
	ret = wait_traps(&ctx, errp[0]);
	if (!ret)
		ret = map_threads(&ctx);
	if (!ret)
		ret = finish_tasks(&ctx);
	if (!ret)
		restore_late_rlimits(&ctx);
	if (!ret)
		ret = fault_inject("before-release");
	if (ret)
		goto out_kill;
	if ((ret = net_restore_up()))
		goto out_kill;
	if (opts->pidfile && (ret = write_pidfile(opts->pidfile, ctx.items[0]->hpid)))
		goto out_kill;
	release_tasks(&ctx);
	/* binds of FUSE files: their lookups are served by the tree itself */
	if ((ret = fuse_restore_binds(&ctx)))
		goto out_kill;
	if (stats)
		stats->total_ns = now_ns() - t0;
	pr_info("restored %u processes in %llu ms", ctx.nr_items,
		(unsigned long long)(now_ns() - t0) / 1000000);
	*root_pid = ctx.items[0]->hpid;
	if (!opts->detach) {
		int st;

		while (waitpid(*root_pid, &st, 0) < 0 && errno == EINTR)
			;
		ret = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	goto out;
out_kill:
	kill_tasks(&ctx);
out:
	mnt_restore_fini();
	mnt_outer_fini();
	fuse_restore_fini();
	net_restore_fini(ret < 0);
	ns_restore_fini();
	if (errp[0] >= 0)
		close(errp[0]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (ctx.shared)
		munmap(ctx.shared, shared_size(ctx.nr_items));
	files_set_proc(-1);
	if (ctx.host_proc > 0)
		close(ctx.host_proc);
	for (unsigned i = 0; i < ctx.nr_shmems; i++)
		close(ctx.shmems[i].fd);
	free(ctx.shmems);
	files_free(&ctx);
	free_items(&ctx);
	img_free_pb(ctx.inv);
	cgroup_fini(&ctx, ret < 0);
	img_free_pb(ctx.ns);
	img_free_pb(ctx.cg);
	img_dir_close(&ctx.dir);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}
