/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cpuid.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/elf.h>
#include <linux/filter.h>
#include <linux/rseq.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/fsuid.h>
#include <time.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>

#include "infect/infect.h"
#include "proc_parse.h"
#include "fd/files.h"
#include "ns/ns.h"
#include "restore/restore.h"
#include "task/core.h"
#include "restore/restorer.h"

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
struct rseq_config {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};
#ifndef PTRACE_PEEKSIGINFO_SHARED
#define PTRACE_PEEKSIGINFO_SHARED 1
#endif

struct k_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

uint32_t xsave_size(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d))
		return 0;
	return b;
}

static int peek_siginfos(pid_t tid, bool shared, ProtobufCBinaryData **out, size_t *n)
{
	struct __ptrace_peeksiginfo_args a = { .off = 0, .flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0, .nr = 1 };
	siginfo_t si;

	*out = NULL;
	*n = 0;
	for (;;) {
		long r = ptrace(PTRACE_PEEKSIGINFO, tid, &a, &si);
		ProtobufCBinaryData *nb;

		if (r < 0) {
			pr_perror("thread %d: cannot peek pending signals", tid);
			return -errno;
		}
		if (r == 0)
			return 0;
		nb = xrealloc_array(*out, *n + 1, sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		*out = nb;
		nb[*n].len = sizeof(si);
		nb[*n].data = malloc(sizeof(si));
		if (!nb[*n].data)
			return -ENOMEM;
		memcpy(nb[*n].data, &si, sizeof(si));
		(*n)++;
		a.off++;
	}
}

static int dump_seccomp(pid_t tid, SeccompFilterEntry ***out, size_t *nout);

static int rsys(struct pstree_item *item, pid_t tid, long nr, long *ret, long a1, long a2,
		long a3, long a4)
{
	int err = infect_syscall(item, tid, nr, ret, a1, a2, a3, a4, 0, 0);

	if (err)
		return err;
	return 0;
}

int dump_thread_core(struct dump_ctx *ctx, struct pstree_item *item, unsigned idx, ThreadCore **out)
{
	pid_t tid = item->threads[idx];
	struct user_regs_struct regs = item->regs[idx];
	struct rseq_config rc;
	ThreadCore *tc = xzalloc(sizeof(*tc));
	uint64_t scratch, sigmask;
	stack_t ss;
	long r, len;
	int ret;
	char path[96];
	char *comm;

	if (!tc)
		return -ENOMEM;
	thread_core__init(tc);
	*out = tc;
	tc->tid = ns_vpid(tid);
	infect_fixup_syscall_regs(&regs, true);
	tc->gpregs.len = sizeof(regs);
	tc->gpregs.data = malloc(sizeof(regs));
	if (!tc->gpregs.data)
		return -ENOMEM;
	memcpy(tc->gpregs.data, &regs, sizeof(regs));

	if (ctx->xsave_size) {
		struct iovec iov;

		tc->xsave.data = xzalloc(ctx->xsave_size);
		if (!tc->xsave.data)
			return -ENOMEM;
		iov.iov_base = tc->xsave.data;
		iov.iov_len = ctx->xsave_size;
		if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0) {
			pr_perror("thread %d: cannot read the FPU/xsave state", tid);
			return -errno;
		}
		tc->has_xsave = true;
		tc->xsave.len = iov.iov_len;
	}
	if (ptrace(PTRACE_GETSIGMASK, tid, sizeof(sigmask), &sigmask) < 0) {
		pr_perror("thread %d: cannot read the signal mask", tid);
		return -errno;
	}
	tc->blk_sigset = sigmask;
	ret = peek_siginfos(tid, false, &tc->pending, &tc->n_pending);
	if (ret)
		return ret;

	ret = infect_scratch_get(item, tid, &scratch);
	if (ret)
		return ret;
	ret = rsys(item, tid, __NR_sigaltstack, &r, 0, scratch, 0, 0);
	if (ret)
		return ret;
	if (r == 0 && infect_read(item->pid, scratch, &ss, sizeof(ss)) == 0) {
		tc->has_sas_sp = tc->has_sas_size = tc->has_sas_flags = true;
		tc->sas_sp = (uint64_t)ss.ss_sp;
		tc->sas_size = ss.ss_size;
		tc->sas_flags = ss.ss_flags & ~SS_ONSTACK;
	}
	ret = rsys(item, tid, __NR_prctl, &r, PR_GET_TID_ADDRESS, scratch, 0, 0);
	if (ret)
		return ret;
	if (r == 0 && infect_read(item->pid, scratch, &tc->clear_tid_addr, 8) == 0)
		tc->has_clear_tid_addr = true;
	ret = rsys(item, tid, __NR_prctl, &r, PR_GET_TIMERSLACK, 0, 0, 0);
	if (ret)
		return ret;
	if (r > 0) {
		tc->has_timer_slack = true;
		tc->timer_slack = r;
	}

	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof(rc), &rc) == sizeof(rc) &&
	    rc.rseq_abi_pointer) {
		tc->has_rseq_addr = tc->has_rseq_len = tc->has_rseq_sig = true;
		tc->rseq_addr = rc.rseq_abi_pointer;
		tc->rseq_len = rc.rseq_abi_size;
		tc->rseq_sig = rc.signature;
	}
	{
		void *head;

		if (syscall(SYS_get_robust_list, tid, &head, &len) == 0) {
			tc->has_robust_list = tc->has_robust_len = true;
			tc->robust_list = (uint64_t)head;
			tc->robust_len = len;
		}
	}
	{
		struct proc_status ts;

		snprintf(path, sizeof(path), "%d/task/%d", item->pid, tid);
		ret = proc_parse_status_path(path, &ts);
		if (ret)
			return ret;
		tc->creds = xzalloc(sizeof(*tc->creds));
		if (!tc->creds) {
			free(ts.groups);
			return -ENOMEM;
		}
		creds_entry__init(tc->creds);
		tc->creds->uid = ts.uid[0], tc->creds->euid = ts.uid[1];
		tc->creds->suid = ts.uid[2], tc->creds->fsuid = ts.uid[3];
		tc->creds->gid = ts.gid[0], tc->creds->egid = ts.gid[1];
		tc->creds->sgid = ts.gid[2], tc->creds->fsgid = ts.gid[3];
		tc->creds->groups = ts.groups;
		tc->creds->n_groups = ts.nr_groups;
		tc->creds->cap_inh = ts.cap_inh;
		tc->creds->cap_prm = ts.cap_prm;
		tc->creds->cap_eff = ts.cap_eff;
		tc->creds->cap_bnd = ts.cap_bnd;
		tc->creds->has_cap_amb = true;
		tc->creds->cap_amb = ts.cap_amb;
		tc->has_no_new_privs = true;
		tc->no_new_privs = ts.no_new_privs;
		if (ts.seccomp == SECCOMP_MODE_STRICT) {
			pr_err("thread %d: seccomp strict mode cannot be checkpointed", tid);
			return -ENOTSUP;
		}
		if (ts.seccomp == SECCOMP_MODE_FILTER &&
		    (ret = dump_seccomp(tid, &tc->seccomp, &tc->n_seccomp)))
			return ret;
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", item->pid, tid);
	comm = read_file_at(AT_FDCWD, path, NULL);
	if (comm) {
		char *nl = strchr(comm, '\n');

		if (nl)
			*nl = '\0';
		tc->comm = comm;
	}
	{
		cpu_set_t set;

		if (sched_getaffinity(tid, sizeof(set), &set) == 0) {
			tc->affinity.data = malloc(sizeof(set));
			if (!tc->affinity.data)
				return -ENOMEM;
			memcpy(tc->affinity.data, &set, sizeof(set));
			tc->affinity.len = sizeof(set);
			tc->has_affinity = true;
		}
	}
	errno = 0;
	r = getpriority(PRIO_PROCESS, tid);
	if (errno == 0) {
		tc->has_nice = true;
		tc->nice = r;
	}
	return 0;
}

static int dump_sigactions(struct pstree_item *item, ProcessCore *pc, uint64_t scratch)
{
	pc->sigactions = xzalloc(sizeof(SigactionEntry *) * 64);
	if (!pc->sigactions)
		return -ENOMEM;
	for (int sig = 1; sig <= 64; sig++) {
		struct k_sigaction ka;
		SigactionEntry *se;
		long r;
		int ret;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		ret = rsys(item, item->pid, __NR_rt_sigaction, &r, sig, 0, scratch, 8);
		if (ret)
			return ret;
		if (r < 0) {
			pr_err("pid %d: cannot read the action of signal %d: %s", item->pid, sig,
			       strerror(-r));
			return (int)r;
		}
		ret = infect_read(item->pid, scratch, &ka, sizeof(ka));
		if (ret)
			return ret;
		if (ka.handler == (uint64_t)SIG_DFL && !ka.flags && !ka.mask)
			continue;
		se = xzalloc(sizeof(*se));
		if (!se)
			return -ENOMEM;
		sigaction_entry__init(se);
		se->sig = sig;
		se->handler = ka.handler;
		se->flags = ka.flags;
		se->restorer = ka.restorer;
		se->mask = ka.mask;
		pc->sigactions[pc->n_sigactions++] = se;
	}
	return 0;
}

static ItimerEntry *itimer_new(const struct itimerval *iv)
{
	ItimerEntry *e = xzalloc(sizeof(*e));

	if (!e)
		return NULL;
	itimer_entry__init(e);
	e->isec = iv->it_interval.tv_sec;
	e->iusec = iv->it_interval.tv_usec;
	e->vsec = iv->it_value.tv_sec;
	e->vusec = iv->it_value.tv_usec;
	return e;
}

static int dump_itimers(struct pstree_item *item, ProcessCore *pc, uint64_t scratch)
{
	ItimerEntry **dst[3] = { &pc->itimer_real, &pc->itimer_virt, &pc->itimer_prof };

	for (int w = 0; w < 3; w++) {
		struct itimerval iv;
		long r;
		int ret = rsys(item, item->pid, __NR_getitimer, &r, w, scratch, 0, 0);

		if (ret)
			return ret;
		if (r < 0 || infect_read(item->pid, scratch, &iv, sizeof(iv)))
			return -EIO;
		if (!iv.it_value.tv_sec && !iv.it_value.tv_usec && !iv.it_interval.tv_sec &&
		    !iv.it_interval.tv_usec)
			continue;
		*dst[w] = itimer_new(&iv);
		if (!*dst[w])
			return -ENOMEM;
	}
	return 0;
}

static int dump_posix_timers(struct pstree_item *item, ProcessCore *pc, uint64_t scratch)
{
	char path[64];
	_cleanup_free_ char *buf = NULL;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/timers", item->pid);
	buf = read_file_at(AT_FDCWD, path, NULL);
	if (!buf)
		return 0;
	for (p = buf; p && *p;) {
		PosixTimerEntry *te, **nt;
		struct itimerspec its;
		char notify[32] = "", who[8] = "", *next;
		int id, signo, clock = 0, ntid = 0, ret;
		unsigned long long sival = 0;
		long r;

		if (strncmp(p, "ID: ", 4)) {
			pr_err("pid %d: cannot parse %s", item->pid, path);
			return -EINVAL;
		}
		id = atoi(p + 4);
		next = strstr(p + 4, "\nID: ");
		if (next)
			*next++ = '\0';
		if (sscanf(strstr(p, "signal: ") ?: "", "signal: %d/%llx", &signo, &sival) != 2 ||
		    sscanf(strstr(p, "notify: ") ?: "", "notify: %31[^/]/%7[^.].%d", notify, who, &ntid) != 3 ||
		    sscanf(strstr(p, "ClockID: ") ?: "", "ClockID: %d", &clock) != 1) {
			pr_err("pid %d: cannot parse posix timer %d", item->pid, id);
			return -EINVAL;
		}
		ret = rsys(item, item->pid, __NR_timer_gettime, &r, id, scratch, 0, 0);
		if (ret)
			return ret;
		if (r < 0 || infect_read(item->pid, scratch, &its, sizeof(its))) {
			pr_err("pid %d: cannot read posix timer %d", item->pid, id);
			return -EIO;
		}
		te = xzalloc(sizeof(*te));
		nt = xrealloc_array(pc->posix_timers, pc->n_posix_timers + 1, sizeof(*nt));
		if (!te || !nt) {
			free(te);
			return -ENOMEM;
		}
		pc->posix_timers = nt;
		posix_timer_entry__init(te);
		te->id = id;
		te->clock = clock;
		te->signo = signo;
		te->sival = sival;
		if (!strcmp(notify, "none"))
			te->notify = SIGEV_NONE;
		else if (!strcmp(notify, "thread"))
			te->notify = SIGEV_THREAD;
		else
			te->notify = SIGEV_SIGNAL;
		if (!strcmp(who, "tid")) {
			te->notify |= SIGEV_THREAD_ID;
			te->has_notify_tid = true;
			te->notify_tid = ns_vpid(ntid);
		}
		te->isec = its.it_interval.tv_sec;
		te->insec = its.it_interval.tv_nsec;
		te->vsec = its.it_value.tv_sec;
		te->vnsec = its.it_value.tv_nsec;
		nt[pc->n_posix_timers++] = te;
		p = next;
	}
	return 0;
}

static int dump_seccomp(pid_t tid, SeccompFilterEntry ***out, size_t *nout)
{
	SeccompFilterEntry **v = NULL;
	size_t n = 0;

	for (unsigned long idx = 0;; idx++) {
		long cnt = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, idx, NULL);
		SeccompFilterEntry *e;

		if (cnt < 0) {
			if (errno == ENOENT)
				break;
			pr_perror("thread %d: cannot read seccomp filter %lu", tid, idx);
			free(v);
			return -errno;
		}
		e = xzalloc(sizeof(*e));
		v = xrealloc_array(v, n + 1, sizeof(*v));
		if (!e || !v)
			return -ENOMEM;
		seccomp_filter_entry__init(e);
		e->filter.len = cnt * sizeof(struct sock_filter);
		e->filter.data = malloc(e->filter.len);
		if (!e->filter.data)
			return -ENOMEM;
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, idx, e->filter.data) != cnt) {
			pr_perror("thread %d: cannot read seccomp filter %lu", tid, idx);
			return -errno;
		}
		v[n++] = e;
	}
	/* the kernel gives the newest first; the image keeps the oldest first */
	for (size_t i = 0; i < n / 2; i++) {
		SeccompFilterEntry *t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
	*out = v;
	*nout = n;
	return 0;
}

static int dump_mm(struct dump_ctx *ctx, struct pstree_item *item, ProcessCore *pc)
{
	struct proc_stat_mm st;
	char path[64];
	MmEntry *mm = xzalloc(sizeof(*mm));
	size_t len;
	long r;
	int ret;

	if (!mm)
		return -ENOMEM;
	mm_entry__init(mm);
	pc->mm = mm;
	ret = proc_parse_stat_mm(item->pid, &st);
	if (ret)
		return ret;
	mm->start_code = st.start_code;
	mm->end_code = st.end_code;
	mm->start_data = st.start_data;
	mm->end_data = st.end_data;
	mm->start_stack = st.start_stack;
	mm->start_brk = st.start_brk;
	mm->arg_start = st.arg_start;
	mm->arg_end = st.arg_end;
	mm->env_start = st.env_start;
	mm->env_end = st.env_end;
	pc->has_exit_signal = true;
	pc->exit_signal = st.exit_signal;
	ret = rsys(item, item->pid, __NR_brk, &r, 0, 0, 0, 0);
	if (ret)
		return ret;
	mm->brk = r;
	snprintf(path, sizeof(path), "/proc/%d/auxv", item->pid);
	mm->auxv.data = (uint8_t *)read_file_at(AT_FDCWD, path, &len);
	if (!mm->auxv.data) {
		pr_perror("pid %d: cannot read auxv", item->pid);
		return -errno;
	}
	mm->auxv.len = len;
	mm->has_auxv = true;
	snprintf(path, sizeof(path), "/proc/%d/exe", item->pid);
	ret = dump_file_by_path(ctx, item, path, O_RDONLY, &mm->exe_file_id);
	if (ret)
		return ret;
	mm->has_exe_file_id = true;
	ret = rsys(item, item->pid, __NR_prctl, &r, PR_GET_DUMPABLE, 0, 0, 0);
	if (ret)
		return ret;
	mm->has_dumpable = true;
	mm->dumpable = r;
	ret = rsys(item, item->pid, __NR_prctl, &r, PR_GET_THP_DISABLE, 0, 0, 0);
	if (!ret && r >= 0) {
		mm->has_thp_disable = true;
		mm->thp_disable = r;
	}
	return 0;
}

int dump_task_core(struct dump_ctx *ctx, struct pstree_item *item, ProcessCore **out)
{
	ProcessCore *pc = xzalloc(sizeof(*pc));
	CredsEntry *cr = xzalloc(sizeof(*cr));
	struct proc_status st;
	uint64_t cur[16], max[16], scratch;
	_cleanup_free_ char *pers = NULL;
	char path[64];
	long r;
	int ret;

	if (!pc || !cr) {
		free(pc);
		free(cr);
		return -ENOMEM;
	}
	process_core__init(pc);
	creds_entry__init(cr);
	*out = pc;
	pc->creds = cr;
	pc->pid = ns_vpid(item->pid);

	ret = proc_parse_status(item->pid, &st);
	if (ret)
		return ret;
	cr->uid = st.uid[0], cr->euid = st.uid[1], cr->suid = st.uid[2], cr->fsuid = st.uid[3];
	cr->gid = st.gid[0], cr->egid = st.gid[1], cr->sgid = st.gid[2], cr->fsgid = st.gid[3];
	cr->groups = st.groups;
	cr->n_groups = st.nr_groups;
	cr->cap_inh = st.cap_inh;
	cr->cap_prm = st.cap_prm;
	cr->cap_eff = st.cap_eff;
	cr->cap_bnd = st.cap_bnd;
	cr->has_cap_amb = true;
	cr->cap_amb = st.cap_amb;
	pc->umask = st.umask;
	pc->has_no_new_privs = true;
	pc->no_new_privs = st.no_new_privs;
	pc->has_seccomp_mode = true;
	pc->seccomp_mode = st.seccomp;
	if (st.seccomp == SECCOMP_MODE_STRICT) {
		pr_err("pid %d: seccomp strict mode cannot be checkpointed", item->pid);
		return -ENOTSUP;
	}

	snprintf(path, sizeof(path), "/proc/%d/personality", item->pid);
	pers = read_file_at(AT_FDCWD, path, NULL);
	pc->personality = pers ? strtoul(pers, NULL, 16) : 0;

	ret = proc_parse_limits(item->pid, cur, max);
	if (ret)
		return ret;
	pc->rlimits = xzalloc(sizeof(RlimitEntry *) * RLIMIT_NLIMITS);
	if (!pc->rlimits)
		return -ENOMEM;
	for (int i = 0; i < RLIMIT_NLIMITS; i++) {
		RlimitEntry *re = xzalloc(sizeof(*re));

		if (!re)
			return -ENOMEM;
		rlimit_entry__init(re);
		re->cur = cur[i];
		re->max = max[i];
		pc->rlimits[pc->n_rlimits++] = re;
	}
	ret = peek_siginfos(item->pid, true, &pc->shared_pending, &pc->n_shared_pending);
	if (ret)
		return ret;

	ret = infect_scratch_get(item, item->pid, &scratch);
	if (ret)
		return ret;
	if ((ret = dump_sigactions(item, pc, scratch)) || (ret = dump_itimers(item, pc, scratch)) ||
	    (ret = dump_posix_timers(item, pc, scratch)))
		return ret;
	ret = rsys(item, item->pid, __NR_prctl, &r, PR_GET_PDEATHSIG, scratch, 0, 0);
	if (!ret && r == 0) {
		int v = 0;

		infect_read(item->pid, scratch, &v, sizeof(v));
		pc->has_pdeathsig = true;
		pc->pdeathsig = v;
	}
	ret = rsys(item, item->pid, __NR_prctl, &r, PR_GET_CHILD_SUBREAPER, scratch, 0, 0);
	if (!ret && r == 0) {
		int v = 0;

		infect_read(item->pid, scratch, &v, sizeof(v));
		pc->has_child_subreaper = true;
		pc->child_subreaper = v;
	}
	ret = rsys(item, item->pid, __NR_prctl, &r, PR_GET_SECUREBITS, 0, 0, 0);
	if (!ret && r >= 0) {
		cr->has_secbits = true;
		cr->secbits = r;
	}
	if ((ret = dump_mm(ctx, item, pc)))
		return ret;

	snprintf(path, sizeof(path), "/proc/%d/cwd", item->pid);
	ret = dump_file_by_path(ctx, item, path, O_RDONLY | O_DIRECTORY, &pc->cwd_id);
	if (ret)
		return ret;
	pc->has_cwd_id = true;
	snprintf(path, sizeof(path), "/proc/%d/root", item->pid);
	ret = dump_file_by_path(ctx, item, path, O_RDONLY | O_DIRECTORY, &pc->root_id);
	if (ret)
		return ret;
	pc->has_root_id = true;
	return 0;
}

int validate_task_core(struct pstree_item *item, ProcessCore *pc, ThreadCore **tcs)
{
	if (pc->pid != (uint32_t)item->pid) {
		pr_err("core-%d.img: holds pid %u", item->pid, pc->pid);
		return -EINVAL;
	}
	if (!pc->mm || !pc->creds) {
		pr_err("core-%d.img: no memory or credentials record", item->pid);
		return -EINVAL;
	}
	if (pc->n_rlimits > RLIMIT_NLIMITS || pc->creds->n_groups > 65536) {
		pr_err("core-%d.img: too many limits or groups", item->pid);
		return -EINVAL;
	}
	for (size_t i = 0; i < pc->n_sigactions; i++)
		if (pc->sigactions[i]->sig < 1 || pc->sigactions[i]->sig > 64 ||
		    pc->sigactions[i]->sig == SIGKILL || pc->sigactions[i]->sig == SIGSTOP) {
			pr_err("core-%d.img: action for bad signal %u", item->pid,
			       pc->sigactions[i]->sig);
			return -EINVAL;
		}
	for (size_t i = 0; i < pc->n_shared_pending; i++)
		if (pc->shared_pending[i].len != sizeof(siginfo_t)) {
			pr_err("core-%d.img: bad pending signal record", item->pid);
			return -EINVAL;
		}
	for (size_t v = 0; v < pc->mm->n_vmas; v++) {
		VmaEntry *ve = pc->mm->vmas[v];

		if (ve->start >= ve->end || (ve->start | ve->end) & (PAGE_SIZE - 1) ||
		    ve->end > 0x7ffffffff000ULL || ve->status < 1 || ve->status > 6 ||
		    (v && ve->start < pc->mm->vmas[v - 1]->end)) {
			pr_err("core-%d.img: mapping %zu (0x%llx-0x%llx) is invalid", item->pid, v,
			       (unsigned long long)ve->start, (unsigned long long)ve->end);
			return -EINVAL;
		}
	}
	for (unsigned t = 0; t < item->nr_threads; t++) {
		ThreadCore *tc = tcs[t];

		if (tc->tid != (uint32_t)item->threads[t] ||
		    tc->gpregs.len != sizeof(struct user_regs_struct) ||
		    (tc->has_xsave && tc->xsave.len > 65536)) {
			pr_err("core-%d.img: thread %u record is invalid", item->pid, tc->tid);
			return -EINVAL;
		}
		for (size_t i = 0; i < tc->n_pending; i++)
			if (tc->pending[i].len != sizeof(siginfo_t)) {
				pr_err("core-%d.img: bad pending signal record", item->pid);
				return -EINVAL;
			}
	}
	return 0;
}

/* ---------------------------------------------------------------- restore */

int restore_task_early(struct rst_ctx *ctx, struct pstree_item *item)
{
	ProcessCore *pc = item->rcore;
	struct file_obj *f;

	umask(pc->umask);
	if (pc->has_root_id && (f = file_find(ctx, FD_TYPES__REG, pc->root_id))) {
		RegFileEntry *re = f->msg;

		if (strcmp(re->path, "/") && (fchdir(f->fd) < 0 || chroot(".") < 0)) {
			pr_perror("pid %d: cannot change root to %s", item->pid, re->path);
			return -errno;
		}
	}
	if (pc->has_cwd_id && (f = file_find(ctx, FD_TYPES__REG, pc->cwd_id))) {
		/* in a mount namespace of its own, the directory may lie on a mount
		 * made after lxc-cr opened it (proc, sysfs): look the path up again */
		if ((ctx->ns && (ctx->ns->flags & CLONE_NEWNS)) ? chdir(((RegFileEntry *)f->msg)->path) < 0
						       : fchdir(f->fd) < 0) {
			pr_perror("pid %d: cannot change directory to %s", item->pid,
				  ((RegFileEntry *)f->msg)->path);
			return -errno;
		}
	}
	if (personality(pc->personality) < 0) {
		pr_perror("pid %d: cannot set personality 0x%x", item->pid, pc->personality);
		return -errno;
	}
	for (size_t i = 0; i < pc->n_sigactions; i++) {
		SigactionEntry *se = pc->sigactions[i];
		struct k_sigaction ka = { se->handler, se->flags, se->restorer, se->mask };

		if (syscall(SYS_rt_sigaction, se->sig, &ka, NULL, 8) < 0) {
			pr_perror("pid %d: cannot restore the action of signal %u", item->pid, se->sig);
			return -errno;
		}
	}
	{
		ItimerEntry *its[3] = { pc->itimer_real, pc->itimer_virt, pc->itimer_prof };

		for (int w = 0; w < 3; w++) {
			struct itimerval iv;

			if (!its[w])
				continue;
			iv.it_interval.tv_sec = its[w]->isec;
			iv.it_interval.tv_usec = its[w]->iusec;
			iv.it_value.tv_sec = its[w]->vsec;
			iv.it_value.tv_usec = its[w]->vusec;
			if (!iv.it_value.tv_sec && !iv.it_value.tv_usec)
				iv.it_value.tv_usec = 1;
			if (setitimer(w, &iv, NULL) < 0) {
				pr_perror("pid %d: cannot restore interval timer %d", item->pid, w);
				return -errno;
			}
		}
	}
	/* Kernels since 6.16 hand out the id we ask for; older ones count up from 0. */
	bool exact_ids = pc->n_posix_timers && prctl(77 /* PR_TIMER_CREATE_RESTORE_IDS */, 1, 0, 0, 0) == 0;

	for (size_t i = 0; i < pc->n_posix_timers; i++) {
		PosixTimerEntry *te = pc->posix_timers[i];
		struct sigevent sev;
		struct itimerspec its;
		int ntimer = -1;

		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = te->notify;
		sev.sigev_signo = te->signo;
		sev.sigev_value.sival_ptr = (void *)te->sival;
		if (te->notify & SIGEV_THREAD_ID) {
			/* a thread of ours: its id in our PID namespace */
			sev._sigev_un._tid = te->notify_tid;
			for (unsigned t = 0; t < item->nr_threads; t++)
				if (item->threads[t] == (pid_t)te->notify_tid)
					sev._sigev_un._tid = item_vpid(item, t);
		}
		/* Timer ids are handed out in order; create until we reach the one we need. */
		for (;;) {
			ntimer = exact_ids ? te->id : -1;
			if (syscall(SYS_timer_create, te->clock, &sev, &ntimer) < 0) {
				pr_perror("pid %d: cannot create posix timer %d", item->pid, te->id);
				return -errno;
			}
			if (ntimer == te->id)
				break;
			if (ntimer > te->id) {
				pr_err("pid %d: posix timer id %d is not available (got %d)",
				       item->pid, te->id, ntimer);
				return -EINVAL;
			}
			syscall(SYS_timer_delete, ntimer);
		}
		its.it_interval.tv_sec = te->isec;
		its.it_interval.tv_nsec = te->insec;
		its.it_value.tv_sec = te->vsec;
		its.it_value.tv_nsec = te->vnsec;
		if (syscall(SYS_timer_settime, ntimer, 0, &its, NULL) < 0) {
			pr_perror("pid %d: cannot arm posix timer %d", item->pid, te->id);
			return -errno;
		}
	}
	if (exact_ids)
		prctl(77, 0, 0, 0, 0);
	if (pc->has_pdeathsig && prctl(PR_SET_PDEATHSIG, pc->pdeathsig) < 0)
		return -errno;
	if (pc->has_child_subreaper && prctl(PR_SET_CHILD_SUBREAPER, pc->child_subreaper) < 0)
		return -errno;
	if (pc->mm->has_thp_disable && pc->mm->thp_disable)
		prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	return 0;
}

/* Whether limit i fits the memory this task maps now (VmSize, VmData). */
static bool late_rlimit_ok(size_t i, const struct rlimit *rl)
{
	_cleanup_free_ char *st = read_file_at(AT_FDCWD, "/proc/self/status", NULL);
	const char *key = i == RLIMIT_AS ? "\nVmSize:" : "\nVmData:";
	const char *p = st ? strstr(st, key) : NULL;
	unsigned long long kb;

	if (!p || sscanf(p + strlen(key), "%llu", &kb) != 1)
		return true;
	return rl->rlim_cur == RLIM_INFINITY || rl->rlim_cur / 1024 > kb;
}

int restore_task_creds(struct rst_ctx *ctx, struct pstree_item *item)
{
	ProcessCore *pc = item->rcore;
	CredsEntry *cr = pc->creds;
	int last_cap = 40;
	unsigned int secbits;
	bool keepcaps_locked;

	for (size_t i = 0; i < pc->n_rlimits; i++) {
		struct rlimit rl = { pc->rlimits[i]->cur, pc->rlimits[i]->max };

		/* address-space limits below lxc-cr's own layout, which the task
		 * still has, are set by the tracer once the restorer ran
		 * (restore_late_rlimits()); a task of another uid keeps them here */
		if ((i == RLIMIT_AS || i == RLIMIT_DATA) && !late_rlimit_ok(i, &rl))
			continue;
		if (setrlimit(i, &rl) < 0)
			pr_warn("pid %d: cannot restore limit %zu: %s", item->pid, i, strerror(errno));
	}
	/* ids are saved as lxc-cr sees them; the task is in the tree's user namespace */
	for (unsigned t = 0; t < item->nr_threads; t++) {
		CredsEntry *c = item->rtcores[t]->creds ? item->rtcores[t]->creds : cr;
		uint32_t x;

		if (ns_uid_inside(c->uid, &x) || ns_uid_inside(c->euid, &x) ||
		    ns_uid_inside(c->suid, &x) || ns_uid_inside(c->fsuid, &x) ||
		    ns_gid_inside(c->gid, &x) || ns_gid_inside(c->egid, &x) ||
		    ns_gid_inside(c->sgid, &x) || ns_gid_inside(c->fsgid, &x)) {
			pr_err("pid %d: thread %d has ids its user namespace does not map", item->pid,
			       item->threads[t]);
			return -ERANGE;
		}
	}
	{
		_cleanup_free_ gid_t *groups = xzalloc(sizeof(gid_t) * (cr->n_groups + 1));
		gid_t cur[NGROUPS_MAX];
		int ncur;

		if (!groups)
			return -ENOMEM;
		for (size_t g = 0; g < cr->n_groups; g++) {
			uint32_t x;

			if (ns_gid_inside(cr->groups[g], &x))
				return -ERANGE;
			groups[g] = x;
		}
		ncur = getgroups(NGROUPS_MAX, cur);
		/* setgroups denied in its user namespace: the groups it inherited must do */
		if (ns_setgroups_denied()) {
			if (ncur != (int)cr->n_groups || memcmp(cur, groups, sizeof(gid_t) * ncur))
				pr_warn("pid %d: setgroups is denied in its user namespace; supplementary groups left as inherited",
					item->pid);
		} else if (setgroups(cr->n_groups, groups) < 0) {
			pr_perror("pid %d: cannot restore supplementary groups", item->pid);
			return -errno;
		}
	}
	{
		_cleanup_free_ char *lc = read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", NULL);

		if (lc)
			last_cap = atoi(lc);
	}
	/*
	 * Dropping from the bounding set and setting securebits need
	 * CAP_SETPCAP in the effective set, which a change to non-zero uids
	 * clears: do both while we still are root.
	 */
	for (int c = 0; c <= last_cap; c++)
		if (!(cr->cap_bnd & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c) < 0 && errno != EINVAL) {
			pr_perror("pid %d: cannot drop capability %d from the bounding set", item->pid, c);
			return -errno;
		}
	/* Keep the permitted capabilities across the uid change, then set them exactly. */
	secbits = cr->has_secbits ? cr->secbits : 0;
	keepcaps_locked = (secbits & SECBIT_KEEP_CAPS_LOCKED) && !(secbits & SECBIT_KEEP_CAPS);
	if (keepcaps_locked) {
		if (prctl(PR_SET_KEEPCAPS, 1) < 0)
			return -errno;
	} else if (prctl(PR_SET_SECUREBITS, secbits | SECBIT_KEEP_CAPS) < 0) {
		pr_perror("pid %d: cannot restore securebits 0x%x", item->pid, secbits);
		return -errno;
	}
	/* uids, gids and capabilities: each thread sets its own last, in the
	 * restorer (restore_fill_creds), after what needs privileges. */
	return 0;
}

void restore_fill_creds(struct pstree_item *item, ThreadCore *tc, struct rst_creds *out)
{
	CredsEntry *cr = tc->creds ? tc->creds : item->rcore->creds;
	CredsEntry *pcr = item->rcore->creds;
	unsigned int secbits = pcr->has_secbits ? pcr->secbits : 0;
	_cleanup_free_ char *lc = read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", NULL);

	uint32_t id[8];

	/* checked mapped by restore_task_creds() */
	ns_uid_inside(cr->uid, &id[0]);
	ns_uid_inside(cr->euid, &id[1]);
	ns_uid_inside(cr->suid, &id[2]);
	ns_uid_inside(cr->fsuid, &id[3]);
	ns_gid_inside(cr->gid, &id[4]);
	ns_gid_inside(cr->egid, &id[5]);
	ns_gid_inside(cr->sgid, &id[6]);
	ns_gid_inside(cr->fsgid, &id[7]);
	*out = (struct rst_creds){
		.has = 1,
		.uid = id[0], .euid = id[1], .suid = id[2], .fsuid = id[3],
		.gid = id[4], .egid = id[5], .sgid = id[6], .fsgid = id[7],
		.secbits = secbits,
		.keepcaps_locked = (secbits & SECBIT_KEEP_CAPS_LOCKED) && !(secbits & SECBIT_KEEP_CAPS),
		.last_cap = lc ? atoi(lc) : 40,
		.eff = cr->cap_eff, .prm = cr->cap_prm, .inh = cr->cap_inh,
		.amb = cr->has_cap_amb ? cr->cap_amb : 0,
	};
}


int restore_thread_regs(pid_t tid, ThreadCore *tc)
{
	struct user_regs_struct regs;
	uint64_t mask = tc->blk_sigset;

	memcpy(&regs, tc->gpregs.data, sizeof(regs));
	if (ptrace(PTRACE_SETREGS, tid, NULL, &regs) < 0) {
		pr_perror("thread %d: cannot restore registers", tid);
		return -errno;
	}
	if (tc->has_xsave && tc->xsave.len) {
		struct iovec iov = { tc->xsave.data, tc->xsave.len };

		if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0) {
			pr_perror("thread %d: cannot restore the FPU/xsave state", tid);
			return -errno;
		}
	}
	if (ptrace(PTRACE_SETSIGMASK, tid, sizeof(mask), &mask) < 0) {
		pr_perror("thread %d: cannot restore the signal mask", tid);
		return -errno;
	}
	return 0;
}
