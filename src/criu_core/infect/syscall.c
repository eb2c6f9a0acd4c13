/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Remote syscalls: point a stopped thread at a syscall instruction found in
 * its vDSO, let it enter and leave the syscall under PTRACE_SYSCALL, read the
 * result, and put its registers back. No byte of the target is written.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "infect/infect.h"
#include "mem/vma.h"

#define ERESTARTSYS		512
#define ERESTARTNOINTR		513
#define ERESTARTNOHAND		514
#define ERESTART_RESTARTBLOCK	516

void infect_fixup_syscall_regs(struct user_regs_struct *regs, bool for_image)
{
	long ret = (long)regs->rax;

	if ((long)regs->orig_rax < 0)
		return;
	switch (ret) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
		regs->rax = regs->orig_rax;
		regs->rip -= 2;
		break;
	case -ERESTART_RESTARTBLOCK:
		if (for_image) {
			/* No restart block after a restore: run the call again from the start. */
			regs->rax = regs->orig_rax;
			regs->rip -= 2;
		} else {
			regs->rax = __NR_restart_syscall;
			regs->rip -= 2;
		}
		break;
	default:
		return;
	}
	regs->orig_rax = (unsigned long)-1;
}

int infect_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)addr, len };
	ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	/* /proc/PID/mem reads through PROT_NONE too */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, buf, len, addr) != (ssize_t)len) {
		pr_perror("pid %d: cannot read %zu bytes at 0x%llx", pid, len,
			  (unsigned long long)addr);
		return -EFAULT;
	}
	return 0;
}

int infect_write(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec l = { (void *)buf, len }, r = { (void *)addr, len };

	if (process_vm_writev(pid, &l, 1, &r, 1, 0) != (ssize_t)len) {
		pr_perror("pid %d: cannot write %zu bytes at 0x%llx", pid, len,
			  (unsigned long long)addr);
		return -EFAULT;
	}
	return 0;
}

int infect_find_syscall_ip(struct pstree_item *item)
{
	for (unsigned i = 0; i < item->nr_vmas; i++) {
		struct vma_area *v = &item->vmas[i];
		_cleanup_free_ uint8_t *buf = NULL;
		size_t len = v->end - v->start;

		if (v->status != VMA_VDSO)
			continue;
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		if (infect_read(item->pid, v->start, buf, len) < 0)
			return -EFAULT;
		for (size_t o = 0; o + 1 < len; o++) {
			if (buf[o] == 0x0f && buf[o + 1] == 0x05) {
				item->syscall_ip = v->start + o;
				return 0;
			}
		}
	}
	pr_err("pid %d: no syscall instruction found in its vDSO", item->pid);
	return -ENOENT;
}

/*
 * A standard signal that comes meanwhile (SIGCHLD from a child that just
 * exited, in a tree thawed after its seize) stops the call in a
 * signal-delivery stop: it is held back (*held) and the call goes on; the
 * caller sends it again once the thread's registers are back, so that it is
 * pending as it would have been. Stop signals and real-time signals (whose
 * data would be lost) still fail the call.
 */
static int wait_syscall_stop(pid_t tid, int *held)
{
	int status;

	if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0) {
		pr_perror("thread %d: PTRACE_SYSCALL", tid);
		return -errno;
	}
	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("thread %d: wait", tid);
			return -errno;
		}
		/* a stopped task reports its group stop again: go on */
		if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP) {
			if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0) {
				pr_perror("thread %d: PTRACE_SYSCALL", tid);
				return -errno;
			}
			continue;
		}
		if (WIFSTOPPED(status) && !(status >> 16) && WSTOPSIG(status) != (SIGTRAP | 0x80) &&
		    WSTOPSIG(status) < SIGRTMIN && WSTOPSIG(status) != SIGSTOP &&
		    WSTOPSIG(status) != SIGTSTP && WSTOPSIG(status) != SIGTTIN &&
		    WSTOPSIG(status) != SIGTTOU && !*held) {
			*held = WSTOPSIG(status);
			if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0) {
				pr_perror("thread %d: PTRACE_SYSCALL", tid);
				return -errno;
			}
			continue;
		}
		break;
	}
	if (!WIFSTOPPED(status)) {
		pr_err("thread %d: died during a remote syscall (status 0x%x)", tid, status);
		return -ESRCH;
	}
	if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
		pr_err("thread %d: stopped with signal %d during a remote syscall", tid,
		       WSTOPSIG(status));
		return -EAGAIN;
	}
	return 0;
}

int infect_syscall(struct pstree_item *item, pid_t tid, long nr, long *ret,
		   long a1, long a2, long a3, long a4, long a5, long a6)
{
	struct user_regs_struct orig, regs;
	int err, held = 0;

	if (!item->syscall_ip) {
		err = infect_find_syscall_ip(item);
		if (err)
			return err;
	}
	if (ptrace(PTRACE_GETREGS, tid, NULL, &orig) < 0) {
		pr_perror("thread %d: get registers", tid);
		return -errno;
	}
	regs = orig;
	regs.rip = item->syscall_ip;
	regs.rax = nr;
	regs.orig_rax = (unsigned long)-1;
	regs.rdi = a1;
	regs.rsi = a2;
	regs.rdx = a3;
	regs.r10 = a4;
	regs.r8 = a5;
	regs.r9 = a6;
	if (ptrace(PTRACE_SETREGS, tid, NULL, &regs) < 0) {
		pr_perror("thread %d: set registers", tid);
		return -errno;
	}
	err = wait_syscall_stop(tid, &held);	/* entry */
	if (!err)
		err = wait_syscall_stop(tid, &held);	/* exit */
	if (!err && ptrace(PTRACE_GETREGS, tid, NULL, &regs) < 0)
		err = -errno;
	/* We leave the thread in a syscall-exit stop: a restart must be set up by hand. */
	infect_fixup_syscall_regs(&orig, false);
	if (ptrace(PTRACE_SETREGS, tid, NULL, &orig) < 0) {
		pr_perror("thread %d: put registers back", tid);
		return -errno;
	}
	if (held && syscall(SYS_tgkill, item->pid, tid, held) < 0) {
		pr_perror("thread %d: cannot send back signal %d held during a remote syscall", tid, held);
		return -errno;
	}
	if (err)
		return err;
	*ret = (long)regs.rax;
	return 0;
}

int infect_scratch_get(struct pstree_item *item, pid_t tid, uint64_t *addr)
{
	long r;
	int ret;

	if (item->scratch) {
		*addr = item->scratch;
		return 0;
	}
	ret = infect_syscall(item, tid, __NR_mmap, &r, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ret)
		return ret;
	if (r < 0 && r > -4096) {
		pr_err("pid %d: remote mmap failed: %s", item->pid, strerror(-r));
		return (int)r;
	}
	item->scratch = r;
	*addr = r;
	return 0;
}

void infect_scratch_put(struct pstree_item *item, pid_t tid)
{
	long r;

	if (!item->scratch)
		return;
	if (infect_syscall(item, tid, __NR_munmap, &r, item->scratch, PAGE_SIZE, 0, 0, 0, 0) == 0)
		item->scratch = 0;
}
