/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What /proc tells about a process from outside. */
#ifndef CRCORE_PROC_PARSE_H
#define CRCORE_PROC_PARSE_H

#include "cr.h"

struct proc_status {
	uint32_t uid[4], gid[4];
	uint32_t *groups;
	unsigned nr_groups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint64_t sigpnd, shdpnd, sigblk;
	uint32_t umask;
	int seccomp;
	int no_new_privs;
	uint32_t nspid_levels;
};

struct proc_stat_mm {
	uint64_t start_code, end_code, start_stack;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
	int exit_signal;
	int exit_code;
	long nice;
	unsigned long flags;
};

int proc_list_tids(pid_t pid, pid_t **tids, unsigned *nr);
int proc_list_children(struct pstree_item *item, pid_t **kids, unsigned *nr);
int proc_parse_stat_state(pid_t pid, int *state, int *exit_status);
int proc_parse_ids(struct pstree_item *item);
int proc_parse_stat_mm(pid_t pid, struct proc_stat_mm *st);
int proc_parse_status(pid_t pid, struct proc_status *st);
/* rel: "PID" or "PID/task/TID" */
int proc_parse_status_path(const char *rel, struct proc_status *st);
int proc_parse_limits(pid_t pid, uint64_t cur[16], uint64_t max[16]);
int proc_parse_brk(pid_t pid, uint64_t *brk);
/* Parse "key: value" from /proc/PID/fdinfo/FD; returns the whole text. */
char *proc_fdinfo(pid_t pid, int fd);
/* Value of a "key:\t..." line in text, or NULL. */
const char *proc_field(const char *text, const char *key);

#endif
