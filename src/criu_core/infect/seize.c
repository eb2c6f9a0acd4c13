/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Collect a process tree and stop it: PTRACE_SEIZE + PTRACE_INTERRUPT of every
 * thread, walking threads and children again until the walk finds nothing new
 * (a fork or clone can race the seize).
 */
#include <dirent.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "infect/infect.h"
#include "ns/ns.h"
#include "proc_parse.h"

#define SEIZE_OPTS (PTRACE_O_TRACESYSGOOD)
/* A thread that has not reached its interrupt stop by then waits in the
 * kernel for something the stopped tree would have to do (a FUSE request
 * whose server is a thread of the tree already stopped). One waiting on a
 * FUSE request gets SEIZE_TRIES - 1 more chances (the tree released for its
 * server to answer, then stopped again, SEIZE_RETRY_MS each); the last
 * attempt waits SEIZE_STOP_MS, then the dump fails. */
#define SEIZE_STOP_MS 10000
#define SEIZE_RETRY_MS 1000
#define SEIZE_TRIES 3
/* Then, once the rest is released, how long it gets to stop to be detached. */
#define SEIZE_LATE_MS 5000

struct pstree_item *pstree_find(struct pstree_item **items, unsigned n, pid_t pid)
{
	for (unsigned i = 0; i < n; i++)
		if (items[i]->pid == pid)
			return items[i];
	return NULL;
}

static bool has_tid(struct pstree_item *item, pid_t tid)
{
	for (unsigned i = 0; i < item->nr_threads; i++)
		if (item->threads[i] == tid)
			return true;
	return false;
}

/* Seized threads that did not stop in time: detached once they stop. */
static struct {
	pid_t tids[64];
	unsigned nr;
	bool fuse;		/* one of them waits on a FUSE request */
} late;

/* How long this attempt waits for each stop. */
static unsigned stop_ms = SEIZE_STOP_MS;

/* Where a thread waits in the kernel (its wchan); whether that is a FUSE request. */
static bool waits_on_fuse(pid_t tid, char *wchan, size_t len)
{
	char path[64];
	_cleanup_free_ char *w = NULL;

	snprintf(path, sizeof(path), "/proc/%d/wchan", tid);
	w = read_file_at(AT_FDCWD, path, NULL);
	snprintf(wchan, len, "%s", w && *w ? w : "?");
	return strstr(wchan, "request_wait_answer") || strstr(wchan, "fuse");
}

/* Wait for a seized thread to reach its interrupt stop (at most ms
 * milliseconds; -ETIMEDOUT then); pending signals are let through. */
static int wait_stop_for(pid_t tid, bool *group_stop, unsigned ms)
{
	/* The stop usually comes within microseconds, once the thread gets a
	 * CPU: yield to it for the first millisecond, then nap (up to 1 ms). */
	struct timespec nap = { 0, 10000 };
	uint64_t start = now_ns(), deadline = start + (uint64_t)ms * 1000000, t;
	int status;

	for (;;) {
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);

		if (r == 0) {
			t = now_ns();
			if (t > deadline)
				return -ETIMEDOUT;
			if (t - start < 1000000) {
				sched_yield();
				continue;
			}
			nanosleep(&nap, NULL);
			if (nap.tv_nsec < 1000000)
				nap.tv_nsec *= 2;
			continue;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("thread %d: wait for stop", tid);
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			pr_err("thread %d: exited while being stopped", tid);
			return -ESRCH;
		}
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == PTRACE_EVENT_STOP) {
			int sig = WSTOPSIG(status);

			if (group_stop)
				*group_stop = sig == SIGSTOP || sig == SIGTSTP ||
					      sig == SIGTTIN || sig == SIGTTOU;
			return 0;
		}
		/* A signal is being delivered: let it through, the interrupt follows. */
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)WSTOPSIG(status)) < 0) {
			pr_perror("thread %d: resume for signal %d", tid, WSTOPSIG(status));
			return -errno;
		}
	}
}

static int wait_interrupt_stop(pid_t tid, bool *group_stop)
{
	int ret = wait_stop_for(tid, group_stop, stop_ms);
	char wchan[64];
	bool fuse;

	if (ret != -ETIMEDOUT)
		return ret;
	fuse = waits_on_fuse(tid, wchan, sizeof(wchan));
	/* only a FUSE wait is worth a new attempt; anything else gets its full time */
	if (!fuse && stop_ms < SEIZE_STOP_MS) {
		ret = wait_stop_for(tid, group_stop, SEIZE_STOP_MS - stop_ms);
		if (ret != -ETIMEDOUT)
			return ret;
		waits_on_fuse(tid, wchan, sizeof(wchan));
	}
	if (late.nr < ARRAY_SIZE(late.tids))
		late.tids[late.nr++] = tid;
	if (fuse && stop_ms < SEIZE_STOP_MS) {
		late.fuse = true;
		pr_warn("thread %d: waits on a FUSE request (%s) whose server may be stopped: the tree is released for it to answer, then stopped again",
			tid, wchan);
		return ret;
	}
	pr_err("thread %d: did not stop within %u s: it waits in the kernel (%s)%s; retry the dump once it is done",
	       tid, SEIZE_STOP_MS / 1000, wchan,
	       fuse ? ": on a FUSE request, whose server is likely a thread of the tree already stopped" : "");
	return ret;
}

/* After the rest of the tree was released: the threads that did not stop in
 * time get the chance to (what they waited for may be done now) and are
 * detached; one that still does not stays traced until lxc-cr exits. */
static void detach_late(void)
{
	for (unsigned i = 0; i < late.nr; i++) {
		pid_t tid = late.tids[i];

		if (wait_stop_for(tid, NULL, SEIZE_LATE_MS) == 0)
			ptrace(PTRACE_DETACH, tid, NULL, NULL);
		else
			pr_warn("thread %d: still not stopped; it stays traced until lxc-cr exits", tid);
	}
	late.nr = 0;
}

/* With the tree frozen by its freezer cgroup the interrupt stops come only
 * after the thaw: seize everything first, wait afterwards. */
static bool defer_wait;

static int seize_thread(pid_t tid, bool *group_stop)
{
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)SEIZE_OPTS) < 0) {
		int e = errno, st, code;

		/* EPERM for a thread that exited meanwhile (a shell's short-lived child) */
		if (e == ESRCH || (e == EPERM && (proc_parse_stat_state(tid, &st, &code) < 0 ||
						  st == TASK_ZOMBIE)))
			return -ESRCH;
		pr_perror("thread %d: cannot seize", tid);
		return -e;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
		pr_perror("thread %d: cannot interrupt", tid);
		return -errno;
	}
	if (defer_wait)
		return 0;
	return wait_interrupt_stop(tid, group_stop);
}

/* ---- the v1 freezer: a consistent cut without racing forks ---- */

#define FREEZER_ROOT "/sys/fs/cgroup/freezer"

static char *freezer_of(pid_t pid)
{
	char path[64], *p, *r = NULL;
	_cleanup_free_ char *buf = NULL;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	buf = read_file_at(AT_FDCWD, path, NULL);
	if (!buf)
		return NULL;
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		char *c = strchr(p, ':'), *e;

		if (!c || strncmp(c + 1, "freezer:", 8))
			continue;
		e = strchr(c + 9, '\n');
		r = strndup(c + 9, e ? (size_t)(e - c - 9) : strlen(c + 9));
		break;
	}
	return r;
}

static bool descends_from(pid_t pid, pid_t root)
{
	for (int depth = 0; pid > 1 && depth < 4096; depth++) {
		char path[64], *b, *q;

		if (pid == root)
			return true;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		b = read_file_at(AT_FDCWD, path, NULL);
		if (!b)
			return false;
		q = strrchr(b, ')');
		pid = q ? atoi(q + 4) : 0;
		free(b);
	}
	return pid == root;
}

/* Every process in dir and below belongs to the tree of root. */
static bool freezer_only_tree(const char *dir, pid_t root)
{
	char path[PATH_MAX];
	_cleanup_free_ char *procs = NULL;
	DIR *d;
	struct dirent *de;
	bool ok = true;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	procs = read_file_at(AT_FDCWD, path, NULL);
	if (!procs)
		return false;
	for (char *p = procs; *p; ) {
		char *e;
		long pid = strtol(p, &e, 10);

		if (e == p)
			break;
		if (!descends_from(pid, root))
			return false;
		p = e;
		while (*p == '\n')
			p++;
	}
	d = opendir(dir);
	if (!d)
		return false;
	while (ok && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ok = freezer_only_tree(path, root);
	}
	closedir(d);
	return ok;
}

static int freezer_set(const char *dir, const char *state)
{
	char path[PATH_MAX];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, state, strlen(state)) < 0) {
		pr_perror("freezer %s: cannot set %s", dir, state);
		ret = -errno;
	}
	if (fd >= 0)
		close(fd);
	if (ret || strcmp(state, "FROZEN"))
		return ret;
	for (int i = 0; i < 5000; i++) {
		_cleanup_free_ char *st = read_file_at(AT_FDCWD, path, NULL);

		if (st && !strncmp(st, "FROZEN", 6))
			return 0;
		usleep(1000);
	}
	pr_err("freezer %s: the tree did not freeze in 5 s", dir);
	return -ETIMEDOUT;
}

/* The freezer cgroup of the tree if it holds nothing else and not us. */
static char *freezer_for_tree(pid_t root)
{
	_cleanup_free_ char *rel = freezer_of(root), *self = freezer_of(getpid());
	char *dir;
	size_t l;

	if (!rel || !strcmp(rel, "/") || !self)
		return NULL;
	l = strlen(rel);
	if (!strncmp(self, rel, l) && (self[l] == '\0' || self[l] == '/'))
		return NULL;
	dir = xsprintf(FREEZER_ROOT "%s", rel);
	if (dir && (access(dir, W_OK) != 0 || !freezer_only_tree(dir, root))) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* Seize the threads of item not seized yet; returns how many were new. */
static int seize_threads(struct pstree_item *item)
{
	pid_t *tids = NULL;
	unsigned nr = 0;
	int ret, added = 0;

	ret = proc_list_tids(item->pid, &tids, &nr);
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < nr; i++) {
		pid_t *t;
		bool gstop = false;

		if (has_tid(item, tids[i]))
			continue;
		ret = seize_thread(tids[i], &gstop);
		if (ret == -ESRCH && nr == 1 && tids[i] == item->pid && !item->nr_threads &&
		    proc_parse_stat_state(item->pid, &item->state, &item->exit_status) == 0 &&
		    item->state == TASK_ZOMBIE) {
			/* it exited before it could be stopped: a zombie of the tree */
			item->threads = xzalloc(sizeof(pid_t));
			if (!item->threads) {
				ret = -ENOMEM;
				goto out;
			}
			item->threads[0] = item->pid;
			item->nr_threads = 1;
			break;
		}
		if (ret == -ESRCH)
			continue;
		if (ret < 0)
			goto out;
		t = xrealloc_array(item->threads, item->nr_threads + 1, sizeof(pid_t));
		if (!t) {
			ptrace(PTRACE_DETACH, tids[i], NULL, NULL);
			ret = -ENOMEM;
			goto out;
		}
		item->threads = t;
		item->threads[item->nr_threads++] = tids[i];
		if (tids[i] == item->pid && gstop)
			item->stopped_in_group = true;
		added++;
	}
	ret = added;
out:
	free(tids);
	return ret;
}

static struct pstree_item *item_new(pid_t pid, struct pstree_item *parent)
{
	struct pstree_item *item = xzalloc(sizeof(*item));

	if (!item)
		return NULL;
	item->pid = pid;
	item->parent = parent;
	item->ppid = parent ? parent->pid : 0;
	item->state = TASK_ALIVE;
	return item;
}

static int add_item(struct pstree_item ***items, unsigned *nr, struct pstree_item *item)
{
	struct pstree_item **n = xrealloc_array(*items, *nr + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	*items = n;
	n[(*nr)++] = item;
	return 0;
}

static int seize_tree_once(pid_t root, struct pstree_item ***pitems, unsigned *pnr);

int infect_seize_tree(pid_t root, struct pstree_item ***pitems, unsigned *pnr)
{
	int ret = -ETIMEDOUT;

	for (int i = 0; i < SEIZE_TRIES && ret == -ETIMEDOUT; i++) {
		stop_ms = i + 1 < SEIZE_TRIES ? SEIZE_RETRY_MS : SEIZE_STOP_MS;
		late.fuse = false;
		/* a failed attempt released the tree (and detached the late threads) */
		ret = seize_tree_once(root, pitems, pnr);
		if (ret != -ETIMEDOUT || !late.fuse)
			break;
		usleep(20 * 1000);	/* the server's turn */
	}
	stop_ms = SEIZE_STOP_MS;
	return ret;
}

static int seize_tree_once(pid_t root, struct pstree_item ***pitems, unsigned *pnr)
{
	struct pstree_item **items = NULL, *item;
	unsigned nr = 0;
	bool changed;
	char *frozen = NULL;
	int ret;

	if (root == getpid()) {
		pr_err("pid %d: cannot dump lxc-cr itself", root);
		return -EINVAL;
	}
	item = item_new(root, NULL);
	if (!item || add_item(&items, &nr, item) < 0)
		return -ENOMEM;
	ret = proc_parse_stat_state(root, &item->state, &item->exit_status);
	if (ret < 0) {
		pr_err("pid %d: no such process", root);
		free(item);
		free(items);
		return -ESRCH;
	}
	if (item->state == TASK_ZOMBIE) {
		pr_err("pid %d: the root of the tree is a zombie", root);
		ret = -EINVAL;
		goto err;
	}

	frozen = freezer_for_tree(root);
	if (frozen) {
		ret = freezer_set(frozen, "FROZEN");
		if (ret) {
			freezer_set(frozen, "THAWED");
			free(frozen);
			frozen = NULL;
		} else {
			pr_info("froze the tree through %s", frozen);
			defer_wait = true;
		}
	}
	do {
		changed = false;
		for (unsigned i = 0; i < nr; i++) {
			pid_t *kids = NULL;
			unsigned nkids = 0;

			item = items[i];
			if (item->state == TASK_ZOMBIE)
				continue;
			ret = seize_threads(item);
			if (ret < 0)
				goto err;
			if (ret > 0)
				changed = true;
			if (item->nr_threads == 0) {
				pr_err("pid %d: exited while being stopped", item->pid);
				ret = -ESRCH;
				goto err;
			}
			ret = proc_list_children(item, &kids, &nkids);
			if (ret < 0)
				goto err;
			for (unsigned k = 0; k < nkids; k++) {
				struct pstree_item *c;

				if (pstree_find(items, nr, kids[k]))
					continue;
				c = item_new(kids[k], item);
				if (!c || add_item(&items, &nr, c) < 0) {
					free(c);
					free(kids);
					ret = -ENOMEM;
					goto err;
				}
				if (proc_parse_stat_state(c->pid, &c->state, &c->exit_status) < 0) {
					/* gone already; forget it */
					nr--;
					free(c);
					continue;
				}
				if (c->state == TASK_ZOMBIE) {
					c->nr_threads = 1;
					c->threads = xzalloc(sizeof(pid_t));
					if (!c->threads) {
						free(kids);
						ret = -ENOMEM;
						goto err;
					}
					c->threads[0] = c->pid;
				}
				changed = true;
			}
			free(kids);
		}
	} while (changed);

	if (frozen) {
		/* every thread is seized and interrupted: thaw, then collect the stops */
		defer_wait = false;
		ret = freezer_set(frozen, "THAWED");
		for (unsigned i = 0; !ret && i < nr; i++) {
			if (items[i]->state == TASK_ZOMBIE)
				continue;
			for (unsigned t = 0; !ret && t < items[i]->nr_threads; t++) {
				bool gstop = false;

				ret = wait_interrupt_stop(items[i]->threads[t], &gstop);
				if (!ret && t == 0 && gstop)
					items[i]->stopped_in_group = true;
			}
		}
		free(frozen);
		frozen = NULL;
		if (ret)
			goto err;
	}
	for (unsigned i = 0; i < nr; i++) {
		if (items[i]->state == TASK_ZOMBIE || !fuse_requests_queued(items[i]->pid))
			continue;
		if (stop_ms >= SEIZE_STOP_MS)
			break;	/* the last attempt: fuse.c refuses it by name */
		pr_warn("pid %d: its FUSE connection has requests it has not read yet: the tree is released for it to serve them, then stopped again",
			items[i]->pid);
		late.fuse = true;
		ret = -ETIMEDOUT;
		goto err;
	}
	for (unsigned i = 0; i < nr; i++) {
		ret = proc_parse_ids(items[i]);
		if (ret < 0)
			goto err;
	}
	*pitems = items;
	*pnr = nr;
	return 0;
err:
	if (frozen) {
		defer_wait = false;
		freezer_set(frozen, "THAWED");
		free(frozen);
		/* detaching needs the interrupt stops that come with the thaw */
		for (unsigned i = 0; i < nr; i++)
			for (unsigned t = 0; items[i]->state != TASK_ZOMBIE && t < items[i]->nr_threads; t++)
				wait_interrupt_stop(items[i]->threads[t], NULL);
	}
	infect_unseize_tree(items, nr);
	return ret;
}

void pstree_free(struct pstree_item **items, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++) {
		free(items[i]->threads);
		free(items[i]->regs);
		free(items[i]->children);
		free(items[i]);
	}
	free(items);
}

void infect_unseize_tree(struct pstree_item **items, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++) {
		struct pstree_item *item = items[i];

		if (item->state == TASK_ZOMBIE)
			continue;
		for (unsigned t = 0; t < item->nr_threads; t++)
			if (ptrace(PTRACE_DETACH, item->threads[t], NULL, NULL) < 0 && errno != ESRCH)
				pr_perror("thread %d: detach", item->threads[t]);
	}
	pstree_free(items, nr);
	detach_late();
}
