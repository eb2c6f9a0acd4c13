/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/resource.h>

#include "proc_parse.h"

static int list_dir_pids(const char *path, pid_t **out, unsigned *nr)
{
	DIR *d = opendir(path);
	struct dirent *de;
	pid_t *v = NULL;
	unsigned n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t *nv;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		nv = xrealloc_array(v, n + 1, sizeof(pid_t));
		if (!nv) {
			free(v);
			closedir(d);
			return -ENOMEM;
		}
		v = nv;
		v[n++] = atoi(de->d_name);
	}
	closedir(d);
	*out = v;
	*nr = n;
	return 0;
}

int proc_list_tids(pid_t pid, pid_t **tids, unsigned *nr)
{
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	ret = list_dir_pids(path, tids, nr);
	if (ret == -ENOENT) {
		*tids = NULL;
		*nr = 0;
		return 0;
	}
	if (ret < 0)
		pr_err("pid %d: cannot list threads: %s", pid, strerror(-ret));
	return ret;
}

int proc_list_children(struct pstree_item *item, pid_t **kids, unsigned *nr)
{
	pid_t *v = NULL;
	unsigned n = 0;

	for (unsigned t = 0; t < item->nr_threads; t++) {
		char path[96];
		_cleanup_free_ char *buf = NULL;
		char *p, *end;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", item->pid,
			 item->threads[t]);
		buf = read_file_at(AT_FDCWD, path, NULL);
		if (!buf) {
			if (errno == ENOENT)
				continue;
			pr_perror("pid %d: cannot read %s", item->pid, path);
			free(v);
			return -errno;
		}
		for (p = buf;; p = end) {
			long c = strtol(p, &end, 10);
			pid_t *nv;

			if (end == p)
				break;
			nv = xrealloc_array(v, n + 1, sizeof(pid_t));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			v[n++] = c;
		}
	}
	*kids = v;
	*nr = n;
	return 0;
}

/* Fields of /proc/PID/stat after the command name, 1-based as in proc(5). */
static int read_stat_fields(pid_t pid, char *fields[64], char **bufp)
{
	char path[64];
	char *buf, *p;
	int n = 3;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	buf = read_file_at(AT_FDCWD, path, NULL);
	if (!buf)
		return -errno;
	p = strrchr(buf, ')');
	if (!p) {
		free(buf);
		return -EINVAL;
	}
	p += 2;
	memset(fields, 0, sizeof(char *) * 64);
	while (n < 64 && *p) {
		fields[n++] = p;
		p = strchr(p, ' ');
		if (!p)
			break;
		*p++ = '\0';
	}
	*bufp = buf;
	return n;
}

int proc_parse_stat_state(pid_t pid, int *state, int *exit_status)
{
	char *f[64], *buf;
	int n = read_stat_fields(pid, f, &buf);

	if (n < 0)
		return n;
	switch (f[3][0]) {
	case 'Z':
		*state = TASK_ZOMBIE;
		break;
	case 'X':
		free(buf);
		return -ESRCH;
	default:
		*state = TASK_ALIVE;
	}
	*exit_status = n > 52 && f[52] ? atoi(f[52]) : 0;
	free(buf);
	return 0;
}

int proc_parse_ids(struct pstree_item *item)
{
	char *f[64], *buf;
	int n = read_stat_fields(item->pid, f, &buf);

	if (n < 8) {
		pr_err("pid %d: cannot parse /proc/%d/stat", item->pid, item->pid);
		if (n >= 0)
			free(buf);
		return -EINVAL;
	}
	item->pgid = atoi(f[5]);
	item->sid = atoi(f[6]);
	free(buf);
	return 0;
}

int proc_parse_stat_mm(pid_t pid, struct proc_stat_mm *st)
{
	char *f[64], *buf;
	int n = read_stat_fields(pid, f, &buf);

	if (n < 53) {
		pr_err("pid %d: cannot parse /proc/%d/stat", pid, pid);
		if (n >= 0)
			free(buf);
		return -EINVAL;
	}
	st->flags = strtoul(f[9], NULL, 10);
	st->nice = strtol(f[19], NULL, 10);
	st->start_code = strtoull(f[26], NULL, 10);
	st->end_code = strtoull(f[27], NULL, 10);
	st->start_stack = strtoull(f[28], NULL, 10);
	st->exit_signal = atoi(f[38]);
	st->start_data = strtoull(f[45], NULL, 10);
	st->end_data = strtoull(f[46], NULL, 10);
	st->start_brk = strtoull(f[47], NULL, 10);
	st->arg_start = strtoull(f[48], NULL, 10);
	st->arg_end = strtoull(f[49], NULL, 10);
	st->env_start = strtoull(f[50], NULL, 10);
	st->env_end = strtoull(f[51], NULL, 10);
	st->exit_code = atoi(f[52]);
	free(buf);
	return 0;
}

const char *proc_field(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			p += kl + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

int proc_parse_status(pid_t pid, struct proc_status *st)
{
	char rel[32];

	snprintf(rel, sizeof(rel), "%d", pid);
	return proc_parse_status_path(rel, st);
}

int proc_parse_status_path(const char *rel, struct proc_status *st)
{
	char path[96];
	_cleanup_free_ char *buf = NULL;
	const char *v;
	int pid = atoi(rel);

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "/proc/%s/status", rel);
	buf = read_file_at(AT_FDCWD, path, NULL);
	if (!buf) {
		pr_perror("pid %d: cannot read status", pid);
		return -errno;
	}
#define HEX(key, dst)                                            \
	do {                                                     \
		v = proc_field(buf, key);                        \
		if (!v) {                                        \
			pr_err("pid %d: no %s in status", pid, key); \
			return -EINVAL;                          \
		}                                                \
		dst = strtoull(v, NULL, 16);                     \
	} while (0)
	v = proc_field(buf, "Uid");
	if (!v || sscanf(v, "%u %u %u %u", &st->uid[0], &st->uid[1], &st->uid[2], &st->uid[3]) != 4)
		return -EINVAL;
	v = proc_field(buf, "Gid");
	if (!v || sscanf(v, "%u %u %u %u", &st->gid[0], &st->gid[1], &st->gid[2], &st->gid[3]) != 4)
		return -EINVAL;
	HEX("SigPnd", st->sigpnd);
	HEX("ShdPnd", st->shdpnd);
	HEX("SigBlk", st->sigblk);
	HEX("CapInh", st->cap_inh);
	HEX("CapPrm", st->cap_prm);
	HEX("CapEff", st->cap_eff);
	HEX("CapBnd", st->cap_bnd);
	HEX("CapAmb", st->cap_amb);
#undef HEX
	v = proc_field(buf, "Umask");
	st->umask = v ? strtoul(v, NULL, 8) : 022;
	v = proc_field(buf, "Seccomp");
	st->seccomp = v ? atoi(v) : 0;
	v = proc_field(buf, "NoNewPrivs");
	st->no_new_privs = v ? atoi(v) : 0;
	v = proc_field(buf, "NSpid");
	if (v) {
		const char *e = strchr(v, '\n');
		st->nspid_levels = 0;
		for (const char *p = v; p < e; p++)
			if (isdigit((unsigned char)*p) && (p == v || !isdigit((unsigned char)p[-1])))
				st->nspid_levels++;
	}
	v = proc_field(buf, "Groups");
	if (v) {
		const char *p = v;
		char *end;

		for (;;) {
			unsigned long g = strtoul(p, &end, 10);
			uint32_t *ng;

			if (end == p || *p == '\n')
				break;
			ng = xrealloc_array(st->groups, st->nr_groups + 1, sizeof(uint32_t));
			if (!ng)
				return -ENOMEM;
			st->groups = ng;
			st->groups[st->nr_groups++] = g;
			p = end;
			while (*p == ' ')
				p++;
		}
	}
	return 0;
}

int proc_parse_limits(pid_t pid, uint64_t cur[16], uint64_t max[16])
{
	static const char *names[RLIMIT_NLIMITS] = {
		[RLIMIT_CPU] = "Max cpu time",
		[RLIMIT_FSIZE] = "Max file size",
		[RLIMIT_DATA] = "Max data size",
		[RLIMIT_STACK] = "Max stack size",
		[RLIMIT_CORE] = "Max core file size",
		[RLIMIT_RSS] = "Max resident set",
		[RLIMIT_NPROC] = "Max processes",
		[RLIMIT_NOFILE] = "Max open files",
		[RLIMIT_MEMLOCK] = "Max locked memory",
		[RLIMIT_AS] = "Max address space",
		[RLIMIT_LOCKS] = "Max file locks",
		[RLIMIT_SIGPENDING] = "Max pending signals",
		[RLIMIT_MSGQUEUE] = "Max msgqueue size",
		[RLIMIT_NICE] = "Max nice priority",
		[RLIMIT_RTPRIO] = "Max realtime priority",
		[RLIMIT_RTTIME] = "Max realtime timeout",
	};
	char path[64];
	_cleanup_free_ char *buf = NULL;

	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	buf = read_file_at(AT_FDCWD, path, NULL);
	if (!buf) {
		pr_perror("pid %d: cannot read limits", pid);
		return -errno;
	}
	for (int i = 0; i < RLIMIT_NLIMITS; i++) {
		char *l = strstr(buf, names[i]);
		char a[32], b[32];

		if (!l || sscanf(l + 26, "%31s %31s", a, b) != 2) {
			pr_err("pid %d: cannot parse limit '%s'", pid, names[i]);
			return -EINVAL;
		}
		cur[i] = strcmp(a, "unlimited") ? strtoull(a, NULL, 10) : RLIM_INFINITY;
		max[i] = strcmp(b, "unlimited") ? strtoull(b, NULL, 10) : RLIM_INFINITY;
	}
	return 0;
}

char *proc_fdinfo(pid_t pid, int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	return read_file_at(AT_FDCWD, path, NULL);
}
