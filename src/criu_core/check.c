/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `lxc-cr check`: the kernel features the engine relies on. */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "cr.h"
#include "task/core.h"

static int check_one(const char *name, bool ok, const char *why)
{
	pr_msg("%-28s %s%s%s", name, ok ? "yes" : "NO", ok ? "" : ": ", ok ? "" : why);
	return ok ? 0 : 1;
}

int crc_check(void)
{
	int missing = 0;
	struct stat st;
	uint64_t r;

	missing += check_one("kcmp", syscall(SYS_kcmp, getpid(), getpid(), KCMP_VM, 0, 0) == 0,
			     "CONFIG_KCMP is off");
	missing += check_one("ns_last_pid", stat("/proc/sys/kernel/ns_last_pid", &st) == 0,
			     "CONFIG_CHECKPOINT_RESTORE is off");
	missing += check_one("children list",
			     stat("/proc/self/task/self", &st) == 0 || access("/proc/self/task", F_OK) == 0,
			     "no /proc/PID/task");
	{
		char p[64];

		snprintf(p, sizeof(p), "/proc/self/task/%d/children", getpid());
		missing += check_one("/proc/PID/task/TID/children", access(p, R_OK) == 0,
				     "CONFIG_PROC_CHILDREN is off");
	}
	missing += check_one("map_files", access("/proc/self/map_files", R_OK) == 0,
			     "no /proc/PID/map_files");
	{
		struct clone_args ca = { .set_tid_size = 1 };
		pid_t bad = 0;
		long rr;

		ca.set_tid = (uint64_t)&bad;
		rr = syscall(SYS_clone3, &ca, sizeof(ca));
		missing += check_one("clone3 set_tid", rr < 0 && errno == EINVAL, "clone3 missing");
	}
	missing += check_one("PR_SET_MM_MAP",
			     prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &r, 0, 0) == 0,
			     "CONFIG_CHECKPOINT_RESTORE is off");
	missing += check_one("xsave", xsave_size() > 0, "CPU without xsave");
	return missing;
}
