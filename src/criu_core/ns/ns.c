/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Namespaces. The tree's root may have PID, UTS, IPC and network namespaces
 * of its own (it must then be the init of its PID namespace), and a mount
 * namespace (mnt.c); every other task must share all of the root's but its
 * PID namespace, which may be nested below the root's. User, cgroup and time
 * namespaces must still be lxc-cr's. The network namespace is in net.c.
 * Every task's namespace inode numbers go into pstree.img (ns_ids).
 *
 * PID: images name tasks by their PIDs inside the root's namespace (NSpid's
 * field at the root's level); host PIDs are only used to reach them at dump.
 * A task in a deeper namespace also has its ids at each level down to its
 * own (pstree_item.vtids); it is in its parent's namespace or is pid 1 of one
 * nested in it. The restore clones the root with CLONE_NEWPID and set_tid
 * {1}, and the others from inside with set_tid holding every level from
 * their own up to the root's; a nested init with CLONE_NEWPID.
 *
 * UTS: host and domain name, read with lxc-cr's thread moved into the
 * root's namespace for the uname() call.
 *
 * IPC: SysV shared memory segments (with contents), semaphore sets (with
 * values) and message queues (with messages, read with MSG_COPY, so not
 * consumed), read from inside the namespace the same way. They are
 * re-created in the new namespace by the root before it forks, with their
 * ids through /proc/sys/kernel/{shm,sem,msg}_next_id.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <stddef.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#include "fault.h"
#include "ns/ns.h"
#include "ns/net.h"
#include "restore/restore.h"
#include "proc_parse.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

#define NS_OWN_FLAGS                                                                                 \
	(CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWTIME |   \
	 CLONE_NEWUSER)
#define NS_MAX_EXTENTS 340		/* the kernel's limit of lines in a uid_map */
#ifndef NS_GET_USERNS
#define NS_GET_USERNS _IO(0xb7, 0x1)
#define NS_GET_PARENT _IO(0xb7, 0x2)
#endif
/* made by lxc-cr before the root is cloned, which then is born in them */
#define NS_EARLY_FLAGS (CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWTIME | CLONE_NEWUSER)
#define TIMENS_MAX_SEC (1LL << 36)	/* about 2000 years, far below the kernel's bound */

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static const struct ns_kind {
	const char *name;
	uint32_t flag;
} ns_kinds[] = {
	{ "pid", CLONE_NEWPID },	{ "uts", CLONE_NEWUTS },
	{ "ipc", CLONE_NEWIPC },	{ "mnt", CLONE_NEWNS },
	{ "net", CLONE_NEWNET },	{ "user", CLONE_NEWUSER },
	{ "cgroup", CLONE_NEWCGROUP },	{ "time", CLONE_NEWTIME },	/* time last */
};
#define NR_NS_KINDS (sizeof(ns_kinds) / sizeof(ns_kinds[0]))

/* per task at dump: its namespaces and its ids below the root's PID namespace */
struct dns_task {
	TaskNsIds ids;
	uint32_t *ns_tids;		/* pstree_entry.ns_tids */
	size_t n_ns_tids;
};

/* dump: what ns_dump_check learnt */
static struct {
	uint32_t flags;
	unsigned levels;		/* NSpid fields of the root, seen from lxc-cr */
	pid_t root;			/* the task whose namespaces these are (ct or the root) */
	unsigned ct;			/* index of the container's root below the tree's, or 0 */
	uint32_t outer;			/* with ct: the tree's root has a mount namespace of its own */
	unsigned nr;
	struct { pid_t host, inner; } *map;
	unsigned nr_tasks;
	struct dns_task *tasks;		/* per item of the dump, in its order */
	pid_t **vtids;			/* what build_pid_map allocated */
	unsigned nr_vtids;
} dns = { .levels = 1 };

/* Inode of /proc/WHO/ns/NAME; 0 where the kernel lacks that kind. */
static int ns_ino(const char *who, const char *name, uint64_t *ino)
{
	char path[80];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%s/ns/%s", who, name);
	if (stat(path, &st) < 0) {
		if (errno == ENOENT && strcmp(who, "self")) {
			/* a zombie has no namespaces any more; a missing kind is missing for all */
			*ino = 0;
			return -ENOENT;
		}
		if (errno == ENOENT) {
			*ino = 0;
			return 0;
		}
		pr_perror("cannot stat %s", path);
		return -errno;
	}
	*ino = st.st_ino;
	return 0;
}

/* NSpid of /proc/REL/status: every field (the /proc's namespace first), how many. */
static int read_nspid(const char *rel, pid_t *out, unsigned max, unsigned *levels)
{
	char path[96];
	_cleanup_free_ char *buf = NULL;
	const char *v;
	char *end;
	unsigned n = 0;

	snprintf(path, sizeof(path), "/proc/%s/status", rel);
	buf = read_file_at(AT_FDCWD, path, NULL);
	if (!buf)
		return -ESRCH;
	v = proc_field(buf, "NSpid");
	if (!v) {
		pr_err("%s: no NSpid line", path);
		return -EINVAL;
	}
	for (;;) {
		long x = strtol(v, &end, 10);

		if (end == v)
			break;
		if (n >= max || x <= 0) {
			pr_err("%s: NSpid has more than %u levels or a bad id", path, max);
			return -EINVAL;
		}
		out[n++] = x;
		v = end;
		if (*v == '\n' || !*v)
			break;
	}
	if (!n) {
		pr_err("%s: cannot parse NSpid", path);
		return -EINVAL;
	}
	*levels = n;
	return 0;
}

pid_t ns_proc_vpid(pid_t hpid, pid_t htid, unsigned up)
{
	char rel[48];
	pid_t f[NS_MAX_PID_LEVELS + 1];
	unsigned l;
	int ret;

	snprintf(rel, sizeof(rel), "%d/task/%d", hpid, htid);
	ret = read_nspid(rel, f, NS_MAX_PID_LEVELS + 1, &l);
	if (ret)
		return ret;
	return up < l ? f[l - 1 - up] : -ESRCH;
}

pid_t ns_vpid(pid_t host)
{
	for (unsigned i = 0; i < dns.nr; i++)
		if (dns.map[i].host == host)
			return dns.map[i].inner;
	return dns.flags & CLONE_NEWPID ? 0 : host;
}

unsigned ns_pid_levels(void)
{
	return dns.levels;
}

/* The task owning the PID namespace of it: its nearest ancestor (or itself) that
 * is a nested init; NULL for the root's namespace. */
static const struct pstree_item *pidns_owner(const struct pstree_item *it)
{
	while (it && !it->pidns_init)
		it = it->parent;
	return it;
}

pid_t ns_pid_seen_by(const struct pstree_item *viewer, const struct pstree_item *it, unsigned t)
{
	unsigned lv = viewer->nr_levels;
	const struct pstree_item *o = pidns_owner(it);

	if (!it->vtids || t >= it->nr_threads || it->nr_levels < lv)
		return 0;
	while (o && o->nr_levels > lv)
		o = pidns_owner(o->parent);
	if (o != pidns_owner(viewer))
		return 0;
	return it->vtids[t * it->nr_levels + lv - 1];
}

pid_t ns_pid_for(struct pstree_item **items, unsigned n, const struct pstree_item *viewer, pid_t pid)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned t = 0; t < items[i]->nr_threads; t++)
			if (items[i]->threads[t] == pid)
				return ns_pid_seen_by(viewer, items[i], t);
	return 0;
}

void ns_dump_fini(void)
{
	free(dns.map);
	dns.map = NULL;
	dns.nr = 0;
	dns.flags = 0;
	dns.levels = 1;
	dns.root = 0;
	dns.ct = 0;
	dns.outer = 0;
	for (unsigned i = 0; i < dns.nr_tasks; i++)
		free(dns.tasks[i].ns_tids);
	free(dns.tasks);
	dns.tasks = NULL;
	dns.nr_tasks = 0;
	for (unsigned i = 0; i < dns.nr_vtids; i++)
		free(dns.vtids[i]);
	free(dns.vtids);
	dns.vtids = NULL;
	dns.nr_vtids = 0;
}

int ns_net_socket(int domain, int type, int proto)
{
	char path[64];
	_cleanup_close_ int own = -1, fd = -1;
	int sk, err;

	if (!(dns.flags & CLONE_NEWNET))
		return socket(domain, type, proto);
	own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", dns.root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (own < 0 || fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		pr_perror("pid %d: cannot enter its network namespace", dns.root);
		return -1;
	}
	sk = socket(domain, type, proto);
	err = errno;
	if (setns(own, CLONE_NEWNET) < 0) {
		pr_perror("cannot go back to lxc-cr's network namespace");
		abort();
	}
	errno = err;
	return sk;
}

static int map_add(pid_t host, pid_t inner)
{
	void *n = xrealloc_array(dns.map, dns.nr + 1, sizeof(*dns.map));

	if (!n)
		return -ENOMEM;
	dns.map = n;
	dns.map[dns.nr].host = host;
	dns.map[dns.nr].inner = inner;
	dns.nr++;
	return 0;
}

/* Read the ids of every thread of it at each level from the root's PID
 * namespace down to its own. */
static int read_task_pids(struct pstree_item *it)
{
	pid_t f[NS_MAX_PID_LEVELS + 1];
	char rel[48];
	void *n;
	int ret;

	for (unsigned t = 0; t < it->nr_threads; t++) {
		unsigned cnt, l;

		if (it->state == TASK_ZOMBIE)
			snprintf(rel, sizeof(rel), "%d", it->pid);
		else
			snprintf(rel, sizeof(rel), "%d/task/%d", it->pid, it->threads[t]);
		ret = read_nspid(rel, f, NS_MAX_PID_LEVELS + 1, &cnt);
		if (ret)
			return ret;
		if (cnt < dns.levels) {
			pr_err("pid %d: its PID namespace is above the root's; not supported", it->pid);
			return -ENOTSUP;
		}
		l = cnt - dns.levels + 1;
		if (t == 0) {
			it->nr_levels = l;
			it->vtids = xzalloc(sizeof(pid_t) * l * it->nr_threads);
			n = xrealloc_array(dns.vtids, dns.nr_vtids + 1, sizeof(*dns.vtids));
			if (!it->vtids || !n) {
				free(it->vtids);
				it->vtids = NULL;
				return -ENOMEM;
			}
			dns.vtids = n;
			dns.vtids[dns.nr_vtids++] = it->vtids;
		} else if (l != it->nr_levels) {
			pr_err("pid %d: thread %d is in another PID namespace than its leader", it->pid,
			       it->threads[t]);
			return -ENOTSUP;
		}
		memcpy(it->vtids + t * l, f + dns.levels - 1, sizeof(pid_t) * l);
		ret = map_add(it->threads[t], f[dns.levels - 1]);
		if (ret)
			return ret;
	}
	return 0;
}

static TaskNsIds *task_ids(struct dump_ctx *ctx, const struct pstree_item *it)
{
	unsigned i = 0;

	while (i + 1 < ctx->nr_items && ctx->items[i] != it)
		i++;
	return &dns.tasks[i].ids;
}

/*
 * Every task's PID at each level from the root's namespace down to its own.
 * A task may be in its parent's PID namespace or be the init (pid 1) of one
 * nested in it, which its children then share (or nest further).
 */
static int build_pid_map(struct dump_ctx *ctx)
{
	struct pstree_item *root = ctx->items[0];
	pid_t f[NS_MAX_PID_LEVELS + 1];
	char rel[48];
	int ret;

	snprintf(rel, sizeof(rel), "%d", root->pid);
	ret = read_nspid(rel, f, NS_MAX_PID_LEVELS + 1, &dns.levels);
	if (ret)
		return ret;
	if (!dns.ct && (dns.flags & CLONE_NEWPID) && f[dns.levels - 1] != 1) {
		pr_err("pid %d: has a PID namespace of its own but is not its init (it is pid %d there)",
		       root->pid, f[dns.levels - 1]);
		return -ENOTSUP;
	}
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *it = ctx->items[i], *p = it->parent;
		pid_t inner;

		if ((ret = read_task_pids(it)))
			return ret;
		if (!i)
			continue;
		inner = it->vtids[it->nr_levels - 1];
		if (it->nr_levels == p->nr_levels) {
			if (it->state != TASK_ZOMBIE && dns.tasks[i].ids.pid != task_ids(ctx, p)->pid) {
				pr_err("pid %d: is in another PID namespace than its parent (pid %d) at the same depth; not supported",
				       it->pid, p->pid);
				return -ENOTSUP;
			}
		} else if (it->nr_levels == p->nr_levels + 1) {
			if (inner != 1) {
				pr_err("pid %d: is pid %d of a PID namespace nested in its parent's (pid %d) but not its init: it was moved there with setns(); not supported",
				       it->pid, inner, p->pid);
				return -ENOTSUP;
			}
			it->pidns_init = true;
			pr_info("pid %d: is the init of a PID namespace nested %u levels below the root's",
				it->pid, it->nr_levels - 1);
		} else {
			pr_err("pid %d: its PID namespace is %u levels below its parent's (pid %d); only the parent's or one nested in it is supported",
			       it->pid, it->nr_levels - p->nr_levels, p->pid);
			return -ENOTSUP;
		}
	}
	/* what the restore could not rebuild (ids still the host's here) */
	return ns_pstree_check(ctx->items, ctx->nr_items) ? -ENOTSUP : 0;
}

static uint64_t *ids_field(TaskNsIds *ids, unsigned k, protobuf_c_boolean **has)
{
	static const struct {
		const char *name;
		size_t off, has_off;
	} f[] = {
#define F(x) { #x, offsetof(TaskNsIds, x), offsetof(TaskNsIds, has_##x) }
		F(pid), F(uts), F(ipc), F(mnt), F(net), F(user), F(cgroup), F(time),
#undef F
	};

	/* same order as ns_kinds[] */
	*has = (protobuf_c_boolean *)((char *)ids + f[k].has_off);
	return (uint64_t *)((char *)ids + f[k].off);
}

/* Record the namespaces of every thread of it in dns.tasks[i]; refuse a
 * thread whose namespaces differ from its leader's. */
static int read_task_ns(struct pstree_item *it, unsigned i, const uint64_t *self)
{
	TaskNsIds *ids = &dns.tasks[i].ids;
	char who[48];
	uint64_t ino;
	int ret;

	for (unsigned t = 0; t < it->nr_threads; t++) {
		snprintf(who, sizeof(who), "%d/task/%d", it->pid, it->threads[t]);
		for (unsigned k = 0; k <= NR_NS_KINDS; k++) {
			const char *name = "pid_for_children";
			protobuf_c_boolean *has = &ids->has_pid_for_children;
			uint64_t *v = &ids->pid_for_children;

			/* the last round: the PID namespace its children are born in */
			if (k < NR_NS_KINDS) {
				name = ns_kinds[k].name;
				v = ids_field(ids, k, &has);
			}
			ret = ns_ino(who, name, &ino);
			if (ret == -ENOENT && k == NR_NS_KINDS) {
				/* the kernel hides a PID namespace without its init yet */
				pr_err("pid %d: the PID namespace of its future children is not its own (unshare(CLONE_NEWPID) without a child yet); not supported",
				       it->pid);
				return -ENOTSUP;
			}
			if (ret == -ENOENT && !self[k < NR_NS_KINDS ? k : 0])
				continue;
			if (ret) {
				pr_err("pid %d: cannot read the %s namespace of thread %d", it->pid, name,
				       it->threads[t]);
				return ret;
			}
			if (t == 0) {
				*has = true;
				*v = ino;
			} else if (*v != ino) {
				pr_err("pid %d: thread %d is in another %s namespace than its leader; not supported",
				       it->pid, it->threads[t], name);
				return -ENOTSUP;
			}
		}
	}
	if (ids->has_pid_for_children && ids->pid_for_children != ids->pid) {
		pr_err("pid %d: the PID namespace of its future children is not its own (setns() or unshare(CLONE_NEWPID) without a child yet); not supported",
		       it->pid);
		return -ENOTSUP;
	}
	return 0;
}

/* Inode of the user namespace that owns (NS_GET_USERNS) or is the parent
 * of (NS_GET_PARENT) namespace file path. */
static int ns_user_of(const char *path, unsigned long req, uint64_t *ino)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC), u = -1;
	struct stat st;

	if (fd < 0 || (u = ioctl(fd, req)) < 0 || fstat(u, &st) < 0) {
		pr_perror("%s: cannot find its %s user namespace", path,
			  req == NS_GET_PARENT ? "parent" : "owning");
		return -errno;
	}
	*ino = st.st_ino;
	return 0;
}

/*
 * A user namespace of the tree's own: a child of lxc-cr's, owning every other
 * namespace of the tree's own (they are made in it at restore).
 */
static int check_userns(pid_t root, uint32_t flags, const uint64_t *self)
{
	char path[64], who[16];
	uint64_t user = 0, ino;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", root);
	if ((ret = ns_user_of(path, NS_GET_PARENT, &ino)))
		return ret;
	for (unsigned k = 0; k < NR_NS_KINDS; k++)
		if (ns_kinds[k].flag == CLONE_NEWUSER && ino != self[k]) {
			pr_err("pid %d: its user namespace is not a child of lxc-cr's (nested user namespaces); not supported",
			       root);
			return -ENOTSUP;
		}
	snprintf(who, sizeof(who), "%d", root);
	if ((ret = ns_ino(who, "user", &user)))
		return ret;
	for (unsigned k = 0; k < NR_NS_KINDS; k++) {
		const struct ns_kind *nk = &ns_kinds[k];

		if (nk->flag == CLONE_NEWUSER || !(flags & nk->flag))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", root, nk->name);
		if ((ret = ns_user_of(path, NS_GET_USERNS, &ino)))
			return ret;
		if (ino != user) {
			pr_err("pid %d: its %s namespace is not owned by its user namespace; not supported",
			       root, nk->name);
			return -ENOTSUP;
		}
	}
	return 0;
}

/* Whether item i is the container's root or below it. */
static bool in_ct(struct dump_ctx *ctx, unsigned i)
{
	const struct pstree_item *ct = dns.ct ? ctx->items[dns.ct] : NULL;

	for (const struct pstree_item *it = ctx->items[i]; ct && it; it = it->parent)
		if (it == ct)
			return true;
	return false;
}

/*
 * Task i (not the root) is in other namespaces than the root: it may be the
 * root of the tree's container when the root is in lxc-cr's namespaces (but
 * for a mount namespace) and i's PID namespace is not the root's (a
 * controller and its container's init, as libvirt's LXC driver has them).
 */
static int ct_take(struct dump_ctx *ctx, unsigned i, const uint64_t *self, const uint64_t *root,
		   uint32_t root_flags, uint64_t *ct, uint32_t *ct_flags)
{
	struct pstree_item *it = ctx->items[i];
	unsigned bad = NR_NS_KINDS;
	uint64_t mine[NR_NS_KINDS];

	for (unsigned k = 0; k < NR_NS_KINDS; k++) {
		protobuf_c_boolean *has;
		uint64_t ino = *ids_field(&dns.tasks[i].ids, k, &has);

		mine[k] = *has ? ino : self[k];
		if (mine[k] != root[k] && bad == NR_NS_KINDS && ns_kinds[k].flag != CLONE_NEWPID)
			bad = k;
	}
	if (mine[0] == root[0] || (root_flags & ~(uint32_t)CLONE_NEWNS)) {
		/* not a container below a controller: what was refused before */
		pr_err("pid %d: its %s namespace is not the one of the root (pid %d); not supported yet",
		       it->pid, ns_kinds[bad < NR_NS_KINDS ? bad : 0].name, ctx->items[0]->pid);
		return -ENOTSUP;
	}
	if (dns.ct) {
		pr_err("pid %d: is the root of a second container (its PID namespace differs from its parent's) beside the one of pid %d; only one is supported",
		       it->pid, ctx->items[dns.ct]->pid);
		return -ENOTSUP;
	}
	for (unsigned k = 0; k < NR_NS_KINDS; k++) {
		if (mine[k] == self[k])
			continue;
		if (!(ns_kinds[k].flag & NS_OWN_FLAGS) || ns_kinds[k].flag == CLONE_NEWUSER ||
		    ns_kinds[k].flag == CLONE_NEWTIME) {
			pr_err("pid %d: the root of a container below the tree's root has a %s namespace of its own; not supported yet",
			       it->pid, ns_kinds[k].name);
			return -ENOTSUP;
		}
		*ct_flags |= ns_kinds[k].flag;
	}
	/* the tasks above it must be its parent's line in lxc-cr's namespaces */
	for (const struct pstree_item *p = it->parent; p; p = p->parent) {
		unsigned pi = 0;

		while (pi < ctx->nr_items && ctx->items[pi] != p)
			pi++;
		if (pi == ctx->nr_items || pi == 0)
			continue;
		for (unsigned k = 0; k < NR_NS_KINDS; k++) {
			protobuf_c_boolean *has;
			uint64_t ino = *ids_field(&dns.tasks[pi].ids, k, &has);

			if (*has && ino != root[k]) {
				pr_err("pid %d: its %s namespace is neither lxc-cr's nor the container's (pid %d); not supported",
				       p->pid, ns_kinds[k].name, it->pid);
				return -ENOTSUP;
			}
		}
	}
	memcpy(ct, mine, sizeof(mine));
	dns.ct = i;
	pr_info("pid %d: is the root of the tree's container (below its root, pid %d)", it->pid,
		ctx->items[0]->pid);
	return 0;
}

int ns_dump_check(struct dump_ctx *ctx)
{
	uint64_t self[NR_NS_KINDS], root[NR_NS_KINDS], ct[NR_NS_KINDS], tino;
	uint32_t root_flags = 0, ct_flags = 0;
	char who[16];
	int ret;

	ns_dump_fini();
	for (unsigned k = 0; k < NR_NS_KINDS; k++)
		if ((ret = ns_ino("self", ns_kinds[k].name, &self[k])))
			return ret;
	dns.tasks = xzalloc(sizeof(*dns.tasks) * ctx->nr_items);
	if (!dns.tasks)
		return -ENOMEM;
	dns.nr_tasks = ctx->nr_items;
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *it = ctx->items[i];

		task_ns_ids__init(&dns.tasks[i].ids);
		if (it->state == TASK_ZOMBIE)
			continue;
		if ((ret = read_task_ns(it, i, self)))
			return ret;
		for (unsigned k = 0; k < NR_NS_KINDS; k++) {
			protobuf_c_boolean *has;
			uint64_t ino = *ids_field(&dns.tasks[i].ids, k, &has);
			bool ours = i && in_ct(ctx, i);

			if (!*has) {
				if (!i)
					root[k] = self[k];
				continue;
			}
			if (i == 0) {
				root[k] = ino;
				if (ino == self[k])
					continue;
				if (!(ns_kinds[k].flag & NS_OWN_FLAGS)) {
					pr_err("pid %d: its %s namespace differs from lxc-cr's; not supported yet",
					       it->pid, ns_kinds[k].name);
					return -ENOTSUP;
				}
				root_flags |= ns_kinds[k].flag;
			} else if (ino != (ours ? ct : root)[k] && ns_kinds[k].flag != CLONE_NEWPID) {
				/* a nested PID namespace is checked with the PIDs */
				if (ours) {
					pr_err("pid %d: its %s namespace is not the one of its container's root (pid %d); not supported yet",
					       it->pid, ns_kinds[k].name, ctx->items[dns.ct]->pid);
					return -ENOTSUP;
				}
				if ((ret = ct_take(ctx, i, self, root, root_flags, ct, &ct_flags)))
					return ret;
				break;
			}
		}
	}
	if (dns.ct && !ctx->items[dns.ct]->parent) {
		pr_err("pid %d: a container's root without a parent in the tree", ctx->items[dns.ct]->pid);
		return -ENOTSUP;
	}
	dns.flags = dns.ct ? ct_flags : root_flags;
	dns.outer = dns.ct && (root_flags & CLONE_NEWNS);
	if ((dns.flags & CLONE_NEWUSER) && !(dns.flags & CLONE_NEWPID)) {
		/* its tasks could not choose their PIDs in lxc-cr's PID namespace */
		pr_err("pid %d: has a user namespace of its own but not a PID namespace; not supported",
		       ctx->items[0]->pid);
		return -ENOTSUP;
	}
	if ((dns.flags & CLONE_NEWUSER) && (ret = check_userns(ctx->items[0]->pid, dns.flags, self)))
		return ret;
	/* a task that unshared a time namespace its children would enter */
	for (unsigned i = 0; self[NR_NS_KINDS - 1] && i < ctx->nr_items; i++) {
		struct pstree_item *it = ctx->items[i];

		if (it->state == TASK_ZOMBIE)
			continue;
		snprintf(who, sizeof(who), "%d", it->pid);
		if (ns_ino(who, "time_for_children", &tino) == 0 && tino != root[NR_NS_KINDS - 1]) {
			pr_err("pid %d: its children would get a time namespace other than its own (unshare(CLONE_NEWTIME)); not supported",
			       it->pid);
			return -ENOTSUP;
		}
	}
	if ((ret = build_pid_map(ctx)))
		return ret;
	if (dns.ct && !ctx->items[dns.ct]->pidns_init) {
		pr_err("pid %d: the root of the tree's container is not the init of a PID namespace nested in its parent's; not supported",
		       ctx->items[dns.ct]->pid);
		return -ENOTSUP;
	}
	if (dns.flags)
		pr_info("the tree has namespaces of its own: %s%s%s%s%s%s%s",
			dns.flags & CLONE_NEWPID ? "pid " : "", dns.flags & CLONE_NEWUTS ? "uts " : "",
			dns.flags & CLONE_NEWIPC ? "ipc " : "", dns.flags & CLONE_NEWNS ? "mnt " : "",
			dns.flags & CLONE_NEWNET ? "net " : "", dns.flags & CLONE_NEWTIME ? "time " : "",
			dns.flags & CLONE_NEWUSER ? "user" : "");
	dns.root = ctx->items[dns.ct]->pid;
	return 0;
}

int ns_pstree_entry(struct dump_ctx *ctx, unsigned i, PstreeEntry *e)
{
	struct pstree_item *it = ctx->items[i];
	struct dns_task *dt;
	unsigned l;

	if (i >= dns.nr_tasks || !it->vtids)
		return 0;
	dt = &dns.tasks[i];
	if (it->state != TASK_ZOMBIE)
		e->ns_ids = &dt->ids;
	l = it->nr_levels;
	if (l <= 1)
		return 0;
	e->has_ns_levels = true;
	e->ns_levels = l;
	e->has_pidns_init = it->pidns_init;
	e->pidns_init = it->pidns_init;
	if (!dt->ns_tids) {
		dt->ns_tids = xzalloc(sizeof(uint32_t) * it->nr_threads * (l - 1));
		if (!dt->ns_tids)
			return -ENOMEM;
		for (unsigned t = 0; t < it->nr_threads; t++)
			for (unsigned k = 1; k < l; k++)
				dt->ns_tids[t * (l - 1) + k - 1] = it->vtids[t * l + k];
		dt->n_ns_tids = (size_t)it->nr_threads * (l - 1);
	}
	e->ns_tids = dt->ns_tids;
	e->n_ns_tids = dt->n_ns_tids;
	return 0;
}

/* ---------------------------------------------------------------- dump */

/* Run fn with this thread in pid's namespace of kind flag. */
static int call_in(pid_t pid, const char *name, int flag, int (*fn)(void *), void *arg)
{
	char path[64];
	_cleanup_close_ int own = -1, fd = -1;
	int ret;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	own = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (own < 0 || fd < 0) {
		pr_perror("pid %d: cannot open its %s namespace", pid, name);
		return -errno;
	}
	if (setns(fd, flag) < 0) {
		pr_perror("pid %d: cannot enter its %s namespace", pid, name);
		return -errno;
	}
	ret = fn(arg);
	if (setns(own, flag) < 0) {
		/* nothing sensible is left to do in a thread stuck in another namespace */
		pr_perror("cannot go back to lxc-cr's %s namespace", name);
		abort();
	}
	return ret;
}

struct in_ns_args {
	int (*fn)(NsEntry *, size_t *);
	NsEntry *e;
	size_t *total;
};

static int in_ns_call(void *arg)
{
	struct in_ns_args *a = arg;

	return a->fn(a->e, a->total);
}

static int in_ns(pid_t pid, const char *name, int flag, int (*fn)(NsEntry *, size_t *), NsEntry *e,
		 size_t *total)
{
	struct in_ns_args a = { fn, e, total };

	return call_in(pid, name, flag, in_ns_call, &a);
}

bool ns_dump_has_ct(void)
{
	return dns.ct;
}

pid_t ns_dump_ct_pid(void)
{
	return dns.ct ? dns.root : 0;
}

bool ns_dump_own(uint32_t flag)
{
	return dns.flags & flag;
}

int ns_call_in_root(const char *name, int flag, int (*fn)(void *), void *arg)
{
	return call_in(dns.root, name, flag, fn, arg);
}

static int dump_uts(NsEntry *e, size_t *total)
{
	struct utsname u;

	(void)total;
	if (uname(&u) < 0)
		return -errno;
	e->hostname = strdup(u.nodename);
	e->domainname = strdup(u.domainname);
	return e->hostname && e->domainname ? 0 : -ENOMEM;
}

static IpcPermEntry *perm_new(const struct ipc_perm *p)
{
	IpcPermEntry *pe = xzalloc(sizeof(*pe));

	if (!pe)
		return NULL;
	ipc_perm_entry__init(pe);
	pe->key = p->__key;
	pe->uid = p->uid;
	pe->gid = p->gid;
	pe->mode = p->mode & 0777;
	return pe;
}

static int budget(size_t *total, size_t add, const char *what, int id)
{
	*total += add;
	if (*total > NS_MAX_DATA) {
		pr_err("SysV IPC: %s %d: the IPC objects hold more than %u MiB; not supported", what,
		       id, NS_MAX_DATA >> 20);
		return -EFBIG;
	}
	return 0;
}

static int dump_shm(NsEntry *e, size_t *total)
{
	struct shm_info info;
	int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);

	if (max < 0) {
		pr_perror("SysV IPC: cannot list shared memory segments");
		return -errno;
	}
	for (int i = 0; i <= max; i++) {
		struct shmid_ds ds;
		IpcShmEntry *s, **n;
		void *addr;
		size_t len;
		int id = shmctl(i, SHM_STAT, &ds);

		if (id < 0)
			continue;
		if (ds.shm_nattch || (ds.shm_perm.mode & SHM_DEST)) {
			pr_err("SysV IPC: shared memory segment %d is attached by %lu processes; not supported yet",
			       id, (unsigned long)ds.shm_nattch);
			return -ENOTSUP;
		}
		if (budget(total, ds.shm_segsz, "shared memory segment", id))
			return -EFBIG;
		s = xzalloc(sizeof(*s));
		n = xrealloc_array(e->shm, e->n_shm + 1, sizeof(*n));
		if (!s || !n) {
			free(s);
			return -ENOMEM;
		}
		e->shm = n;
		ipc_shm_entry__init(s);
		e->shm[e->n_shm++] = s;
		s->id = id;
		s->size = ds.shm_segsz;
		s->perm = perm_new(&ds.shm_perm);
		if (!s->perm)
			return -ENOMEM;
		addr = shmat(id, NULL, SHM_RDONLY);
		if (addr == (void *)-1) {
			pr_perror("SysV IPC: cannot attach shared memory segment %d", id);
			return -errno;
		}
		for (len = ds.shm_segsz; len && !((char *)addr)[len - 1]; len--)
			;
		if (len) {
			s->data.data = malloc(len);
			if (!s->data.data) {
				shmdt(addr);
				return -ENOMEM;
			}
			memcpy(s->data.data, addr, len);
			s->data.len = len;
			s->has_data = true;
		}
		shmdt(addr);
	}
	return 0;
}

static int dump_sem(NsEntry *e, size_t *total)
{
	struct seminfo info;
	union semun arg = { .buf = (struct semid_ds *)&info };
	int max = semctl(0, 0, SEM_INFO, arg);

	if (max < 0) {
		pr_perror("SysV IPC: cannot list semaphore sets");
		return -errno;
	}
	for (int i = 0; i <= max; i++) {
		struct semid_ds ds;
		IpcSemEntry *s, **n;
		unsigned short *vals;
		int id;

		arg.buf = &ds;
		id = semctl(i, 0, SEM_STAT, arg);
		if (id < 0)
			continue;
		if (budget(total, ds.sem_nsems * 4, "semaphore set", id))
			return -EFBIG;
		s = xzalloc(sizeof(*s));
		n = xrealloc_array(e->sem, e->n_sem + 1, sizeof(*n));
		if (!s || !n) {
			free(s);
			return -ENOMEM;
		}
		e->sem = n;
		ipc_sem_entry__init(s);
		e->sem[e->n_sem++] = s;
		s->id = id;
		s->perm = perm_new(&ds.sem_perm);
		vals = xzalloc(sizeof(*vals) * (ds.sem_nsems + 1));
		s->values = xzalloc(sizeof(*s->values) * (ds.sem_nsems + 1));
		if (!s->perm || !vals || !s->values) {
			free(vals);
			return -ENOMEM;
		}
		arg.array = vals;
		if (semctl(id, 0, GETALL, arg) < 0) {
			pr_perror("SysV IPC: cannot read semaphore set %d", id);
			free(vals);
			return -errno;
		}
		for (unsigned long k = 0; k < ds.sem_nsems; k++)
			s->values[k] = vals[k];
		s->n_values = ds.sem_nsems;
		free(vals);
	}
	return 0;
}

static int dump_msg(NsEntry *e, size_t *total)
{
	struct msginfo info;
	int max = msgctl(0, MSG_INFO, (struct msqid_ds *)&info);

	if (max < 0) {
		pr_perror("SysV IPC: cannot list message queues");
		return -errno;
	}
	for (int i = 0; i <= max; i++) {
		struct msqid_ds ds;
		IpcMsgEntry *q, **n;
		_cleanup_free_ struct msgbuf *buf = NULL;
		size_t bufsz;
		int id = msgctl(i, MSG_STAT, &ds);

		if (id < 0)
			continue;
		if (budget(total, ds.__msg_cbytes + ds.msg_qnum * 16, "message queue", id))
			return -EFBIG;
		q = xzalloc(sizeof(*q));
		n = xrealloc_array(e->msg, e->n_msg + 1, sizeof(*n));
		if (!q || !n) {
			free(q);
			return -ENOMEM;
		}
		e->msg = n;
		ipc_msg_entry__init(q);
		e->msg[e->n_msg++] = q;
		q->id = id;
		q->qbytes = ds.msg_qbytes;
		q->perm = perm_new(&ds.msg_perm);
		bufsz = (info.msgmax > 0 ? (size_t)info.msgmax : 8192) + ds.__msg_cbytes;
		buf = malloc(sizeof(long) + bufsz);
		q->msgs = xzalloc(sizeof(*q->msgs) * (ds.msg_qnum + 1));
		if (!q->perm || !buf || !q->msgs)
			return -ENOMEM;
		for (unsigned long k = 0; k < ds.msg_qnum; k++) {
			IpcMsg *m;
			ssize_t r = msgrcv(id, buf, bufsz, k, IPC_NOWAIT | MSG_COPY);

			if (r < 0) {
				pr_perror("SysV IPC: cannot read message %lu of queue %d%s", k, id,
					  errno == ENOSYS ? " (no MSG_COPY in this kernel)" : "");
				return errno == ENOSYS ? -ENOTSUP : -errno;
			}
			m = xzalloc(sizeof(*m));
			if (!m)
				return -ENOMEM;
			ipc_msg__init(m);
			q->msgs[q->n_msgs++] = m;
			m->mtype = buf->mtype;
			m->text.len = r;
			m->text.data = malloc(r ? r : 1);
			if (!m->text.data)
				return -ENOMEM;
			memcpy(m->text.data, buf->mtext, r);
		}
	}
	return 0;
}

static int dump_ipc(NsEntry *e, size_t *total)
{
	int ret = dump_shm(e, total);

	if (!ret)
		ret = dump_sem(e, total);
	if (!ret)
		ret = dump_msg(e, total);
	if (!ret)
		ret = mqueue_dump_ns(e, total);
	return ret;
}

/* ---------------------------------------------------------------- time */

struct timens_offs {
	struct timespec mono, boot;
};

/* /proc/WHO/timens_offsets: "monotonic SEC NSEC" and "boottime SEC NSEC". */
static int read_timens_offsets(const char *who, struct timens_offs *o)
{
	char path[64], name[16];
	_cleanup_free_ char *buf = NULL;
	const char *l;
	unsigned seen = 0;

	snprintf(path, sizeof(path), "/proc/%s/timens_offsets", who);
	buf = read_file_at(AT_FDCWD, path, NULL);
	if (!buf) {
		pr_perror("cannot read %s", path);
		return -EIO;
	}
	memset(o, 0, sizeof(*o));
	for (l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		long long sec;
		long nsec;
		struct timespec *ts;

		if (sscanf(l, "%15s %lld %ld", name, &sec, &nsec) != 3)
			break;
		if (!strcmp(name, "monotonic") || !strcmp(name, "1"))
			ts = &o->mono, seen |= 1;
		else if (!strcmp(name, "boottime") || !strcmp(name, "7"))
			ts = &o->boot, seen |= 2;
		else
			continue;
		ts->tv_sec = sec;
		ts->tv_nsec = nsec;
	}
	if (seen != 3) {
		pr_err("%s: no monotonic and boottime offsets", path);
		return -EINVAL;
	}
	return 0;
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + ts->tv_nsec;
}

/* The host's (the initial time namespace's) monotonic and boot clocks:
 * lxc-cr's own minus the offsets of the time namespace it is in. */
static int host_clocks(uint64_t *mono, uint64_t *boot)
{
	struct timens_offs own;
	struct timespec m, b;
	int ret = read_timens_offsets("self", &own);

	if (ret)
		return ret;
	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_BOOTTIME, &b);
	*mono = ts_ns(&m) - ts_ns(&own.mono);
	*boot = ts_ns(&b) - ts_ns(&own.boot);
	return 0;
}

static int dump_time(pid_t root, NsEntry *e)
{
	struct timens_offs o;
	char who[16];
	TimensEntry *t;
	int ret;

	snprintf(who, sizeof(who), "%d", root);
	if ((ret = read_timens_offsets(who, &o)))
		return ret;
	t = xzalloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	timens_entry__init(t);
	e->time = t;
	t->monotonic_sec = o.mono.tv_sec;
	t->monotonic_nsec = o.mono.tv_nsec;
	t->boottime_sec = o.boot.tv_sec;
	t->boottime_nsec = o.boot.tv_nsec;
	if ((ret = host_clocks(&t->host_monotonic_ns, &t->host_boottime_ns)))
		return ret;
	pr_info("time namespace: monotonic offset %lld.%09u s, boottime offset %lld.%09u s",
		(long long)t->monotonic_sec, t->monotonic_nsec, (long long)t->boottime_sec,
		t->boottime_nsec);
	return 0;
}

/* ---------------------------------------------------------------- user */

static int read_id_map(pid_t pid, const char *name, IdExtent ***out, size_t *nr)
{
	char path[64];
	_cleanup_free_ char *buf = NULL;
	const char *l;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	buf = read_file_at(AT_FDCWD, path, NULL);
	if (!buf) {
		pr_perror("cannot read %s", path);
		return -EIO;
	}
	for (l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		unsigned first, lower, count;
		IdExtent *x, **n;

		if (sscanf(l, "%u %u %u", &first, &lower, &count) != 3)
			break;
		if (*nr >= NS_MAX_EXTENTS) {
			pr_err("%s: more than %u lines", path, NS_MAX_EXTENTS);
			return -EINVAL;
		}
		x = xzalloc(sizeof(*x));
		n = xrealloc_array(*out, *nr + 1, sizeof(*n));
		if (!x || !n) {
			free(x);
			return -ENOMEM;
		}
		*out = n;
		id_extent__init(x);
		x->first = first;
		x->lower_first = lower;
		x->count = count;
		n[(*nr)++] = x;
	}
	return 0;
}

static int dump_user(pid_t root, NsEntry *e)
{
	char path[64];
	_cleanup_free_ char *sg = NULL;
	UsernsEntry *u = xzalloc(sizeof(*u));
	int ret;

	if (!u)
		return -ENOMEM;
	userns_entry__init(u);
	e->user = u;
	if ((ret = read_id_map(root, "uid_map", &u->uid_map, &u->n_uid_map)) ||
	    (ret = read_id_map(root, "gid_map", &u->gid_map, &u->n_gid_map)))
		return ret;
	snprintf(path, sizeof(path), "/proc/%d/setgroups", root);
	sg = read_file_at(AT_FDCWD, path, NULL);
	if (!sg) {
		pr_perror("cannot read %s", path);
		return -EIO;
	}
	u->setgroups_allow = !strncmp(sg, "allow", 5);
	pr_info("user namespace: %zu uid and %zu gid map lines, setgroups %s", u->n_uid_map,
		u->n_gid_map, u->setgroups_allow ? "allowed" : "denied");
	return 0;
}

int ns_dump(struct dump_ctx *ctx)
{
	NsEntry e = NS_ENTRY__INIT;
	pid_t root = dns.root;
	size_t total = 0;
	int ret = 0;

	e.flags = dns.flags;
	if (dns.ct) {
		e.has_ct_pid = true;
		e.ct_pid = ns_vpid(root);
	}
	/* before the container's: its mounts bind the superblocks found here */
	if (dns.outer)
		ret = mnt_outer_dump(ctx, ctx->items[0]->pid, &e);
	if (!ret && (dns.flags & CLONE_NEWUTS))
		ret = in_ns(root, "uts", CLONE_NEWUTS, dump_uts, &e, &total);
	if (!ret && (dns.flags & CLONE_NEWIPC))
		ret = in_ns(root, "ipc", CLONE_NEWIPC, dump_ipc, &e, &total);
	if (!ret && (dns.flags & CLONE_NEWNS))
		ret = mnt_dump(ctx, root, &e);
	if (!ret && (dns.flags & CLONE_NEWNET))
		ret = net_dump(root, &e);
	if (!ret && (dns.flags & CLONE_NEWTIME))
		ret = dump_time(root, &e);
	if (!ret && (dns.flags & CLONE_NEWUSER))
		ret = dump_user(root, &e);
	if (!ret)
		ret = img_write_pb(dump_img(ctx, IMG_NS), &e.base);
	if (!ret && (e.n_shm || e.n_sem || e.n_msg || e.n_mqueues))
		pr_info("IPC: %zu shared memory segments, %zu semaphore sets, %zu message queues, %zu POSIX message queues",
			e.n_shm, e.n_sem, e.n_msg, e.n_mqueues);
	/* e lives on the stack: free what hangs off it */
	free(e.hostname);
	free(e.domainname);
	for (size_t i = 0; i < e.n_shm; i++)
		protobuf_c_message_free_unpacked(&e.shm[i]->base, NULL);
	for (size_t i = 0; i < e.n_sem; i++)
		protobuf_c_message_free_unpacked(&e.sem[i]->base, NULL);
	for (size_t i = 0; i < e.n_msg; i++)
		protobuf_c_message_free_unpacked(&e.msg[i]->base, NULL);
	for (size_t i = 0; i < e.n_mnts; i++)
		protobuf_c_message_free_unpacked(&e.mnts[i]->base, NULL);
	for (size_t i = 0; i < e.n_outer_mnts; i++)
		protobuf_c_message_free_unpacked(&e.outer_mnts[i]->base, NULL);
	free(e.outer_mnts);
	mnt_outer_dump_fini();
	if (e.net)
		protobuf_c_message_free_unpacked(&e.net->base, NULL);
	if (e.time)
		protobuf_c_message_free_unpacked(&e.time->base, NULL);
	if (e.user)
		protobuf_c_message_free_unpacked(&e.user->base, NULL);
	for (size_t i = 0; i < e.n_mqueues; i++)
		protobuf_c_message_free_unpacked(&e.mqueues[i]->base, NULL);
	for (size_t i = 0; i < e.n_mq_sysctls; i++)
		protobuf_c_message_free_unpacked(&e.mq_sysctls[i]->base, NULL);
	free(e.mqueues);
	free(e.mq_sysctls);
	free(e.shm);
	free(e.sem);
	free(e.msg);
	free(e.mnts);
	return ret;
}

/* ---------------------------------------------------------------- restore */

static bool perm_ok(const IpcPermEntry *p)
{
	return p && p->mode <= 0777;
}

static void rns_reset(void);
static int user_validate(NsEntry *e);

int ns_read(struct rst_ctx *ctx)
{
	struct cr_img *img;
	NsEntry *e;
	int ret;

	rns_reset();
	img = img_open_optional(&ctx->dir, IMG_NS, 0);
	if (!img)
		return errno == ENOENT ? 0 : -EINVAL;
	ret = img_read_one(img, &ns_entry__descriptor, (void **)&e);
	img_close(img);
	if (ret)
		return ret;
	ctx->ns = e;
	if (e->flags & ~NS_OWN_FLAGS) {
		pr_err("image ns.img: namespace flags 0x%x are not supported", e->flags);
		return -EINVAL;
	}
	if (e->has_ct_pid && (!e->ct_pid || e->ct_pid == ctx->inv->root_pid ||
			      !(e->flags & CLONE_NEWPID) ||
			      (e->flags & (CLONE_NEWUSER | CLONE_NEWTIME)))) {
		pr_err("image ns.img: container root %u: not a PID namespace of its own below the root, or with a user or time namespace",
		       e->ct_pid);
		return -EINVAL;
	}
	if ((e->flags & CLONE_NEWPID) && !e->has_ct_pid && ctx->inv->root_pid != 1) {
		pr_err("image ns.img: the root of a PID namespace of its own is pid %u, not 1",
		       ctx->inv->root_pid);
		return -EINVAL;
	}
	if ((e->hostname && strlen(e->hostname) > 64) || (e->domainname && strlen(e->domainname) > 64) ||
	    ((e->hostname || e->domainname) && !(e->flags & CLONE_NEWUTS)) ||
	    ((e->n_shm || e->n_sem || e->n_msg || e->n_mqueues || e->n_mq_sysctls) &&
	     !(e->flags & CLONE_NEWIPC))) {
		pr_err("image ns.img: UTS names or IPC objects without their namespace, or too long");
		return -EINVAL;
	}
	if (!!e->net != !!(e->flags & CLONE_NEWNET)) {
		pr_err("image ns.img: a network namespace without its flag, or the flag without it");
		return -EINVAL;
	}
	if (e->net && (ret = net_validate(e->net)))
		return ret;
	if (!!e->time != !!(e->flags & CLONE_NEWTIME) ||
	    (e->time && (e->time->monotonic_nsec >= 1000000000u || e->time->boottime_nsec >= 1000000000u ||
			 llabs(e->time->monotonic_sec) > TIMENS_MAX_SEC ||
			 llabs(e->time->boottime_sec) > TIMENS_MAX_SEC))) {
		pr_err("image ns.img: time namespace offsets out of range, or without their flag");
		return -EINVAL;
	}
	for (size_t i = 0; i < e->n_shm; i++)
		if (e->shm[i]->id < 0 || !perm_ok(e->shm[i]->perm) ||
		    e->shm[i]->data.len > e->shm[i]->size) {
			pr_err("image ns.img: shared memory segment %d is invalid", e->shm[i]->id);
			return -EINVAL;
		}
	for (size_t i = 0; i < e->n_sem; i++)
		if (e->sem[i]->id < 0 || !perm_ok(e->sem[i]->perm) || !e->sem[i]->n_values ||
		    e->sem[i]->n_values > 65536) {
			pr_err("image ns.img: semaphore set %d is invalid", e->sem[i]->id);
			return -EINVAL;
		}
	for (size_t i = 0; i < e->n_msg; i++)
		if (e->msg[i]->id < 0 || !perm_ok(e->msg[i]->perm)) {
			pr_err("image ns.img: message queue %d is invalid", e->msg[i]->id);
			return -EINVAL;
		}
	if ((ret = mqueue_validate(e)) || (ret = user_validate(e)) || (ret = mnt_outer_check(e)))
		return ret;
	return mnt_check(e);
}

static int map_validate(IdExtent **x, size_t n, const char *what)
{
	if (!n || n > NS_MAX_EXTENTS) {
		pr_err("image ns.img: the user namespace's %s has %zu lines", what, n);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (!x[i]->count || x[i]->count > UINT32_MAX - x[i]->first ||
		    x[i]->count > UINT32_MAX - x[i]->lower_first) {
			pr_err("image ns.img: the user namespace's %s line %zu is invalid", what, i);
			return -EINVAL;
		}
	return 0;
}

static int user_validate(NsEntry *e)
{
	int ret;

	if (!!e->user != !!(e->flags & CLONE_NEWUSER)) {
		pr_err("image ns.img: a user namespace without its flag, or the flag without it");
		return -EINVAL;
	}
	if (e->user && !(e->flags & CLONE_NEWPID)) {
		pr_err("image ns.img: a user namespace without a PID namespace");
		return -EINVAL;
	}
	if (e->user && ((ret = map_validate(e->user->uid_map, e->user->n_uid_map, "uid_map")) ||
			(ret = map_validate(e->user->gid_map, e->user->n_gid_map, "gid_map"))))
		return ret;
	return 0;
}

uint64_t ns_root_flags(struct rst_ctx *ctx)
{
	/* the network, IPC, time and user namespaces exist before the root
	 * (ns_restore_prepare(), ns_clone_root()), and so does its mount
	 * namespace (mnt_restore_prepare()): it is born in them */
	if (ctx->ns && ctx->ns->has_ct_pid)
		return 0;	/* they are the container's (ns_ct_clone()) */
	return ctx->ns ? ctx->ns->flags & ~(uint64_t)(NS_EARLY_FLAGS | CLONE_NEWNS) : 0;
}


static int set_next_id(const char *kind, int id)
{
	char path[64], buf[16];
	_cleanup_close_ int fd = -1;
	int n;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s_next_id", kind);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	n = snprintf(buf, sizeof(buf), "%d", id);
	if (fd < 0 || write(fd, buf, n) != n) {
		pr_perror("SysV IPC: cannot write %s", path);
		return -errno;
	}
	return 0;
}

static int check_id(const char *what, int got, int want)
{
	if (got < 0) {
		pr_perror("SysV IPC: cannot create %s %d", what, want);
		return -errno;
	}
	if (got != want) {
		pr_err("SysV IPC: %s %d was created as %d", what, want, got);
		return -EINVAL;
	}
	return 0;
}

/* The owner of an IPC object, as the root (in the tree's user namespace) sets it. */
static int perm_ids(const IpcPermEntry *p, uid_t *uid, gid_t *gid)
{
	uint32_t u, g;

	if (ns_uid_inside(p->uid, &u) || ns_gid_inside(p->gid, &g)) {
		pr_err("SysV IPC: the owner %u:%u of the object with key 0x%x is not mapped in the tree's user namespace",
		       p->uid, p->gid, p->key);
		return -ERANGE;
	}
	*uid = u;
	*gid = g;
	return 0;
}

static int restore_shm(IpcShmEntry *s)
{
	struct shmid_ds ds;
	void *addr;
	int id, ret;

	if ((ret = set_next_id("shm", s->id)))
		return ret;
	id = shmget(s->perm->key, s->size, IPC_CREAT | IPC_EXCL | s->perm->mode);
	if ((ret = check_id("shared memory segment", id, s->id)))
		return ret;
	if (s->has_data && s->data.len) {
		addr = shmat(id, NULL, 0);
		if (addr == (void *)-1) {
			pr_perror("SysV IPC: cannot attach shared memory segment %d", id);
			return -errno;
		}
		memcpy(addr, s->data.data, s->data.len);
		shmdt(addr);
	}
	if (shmctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	if (perm_ids(s->perm, &ds.shm_perm.uid, &ds.shm_perm.gid))
		return -ERANGE;
	ds.shm_perm.mode = s->perm->mode;
	if (shmctl(id, IPC_SET, &ds) < 0) {
		pr_perror("SysV IPC: cannot set the owner of shared memory segment %d", id);
		return -errno;
	}
	return 0;
}

static int restore_sem(IpcSemEntry *s)
{
	struct semid_ds ds;
	union semun arg;
	_cleanup_free_ unsigned short *vals = NULL;
	int id, ret;

	if ((ret = set_next_id("sem", s->id)))
		return ret;
	id = semget(s->perm->key, s->n_values, IPC_CREAT | IPC_EXCL | s->perm->mode);
	if ((ret = check_id("semaphore set", id, s->id)))
		return ret;
	vals = xzalloc(sizeof(*vals) * s->n_values);
	if (!vals)
		return -ENOMEM;
	for (size_t k = 0; k < s->n_values; k++)
		vals[k] = s->values[k];
	arg.array = vals;
	if (semctl(id, 0, SETALL, arg) < 0) {
		pr_perror("SysV IPC: cannot set the values of semaphore set %d", id);
		return -errno;
	}
	arg.buf = &ds;
	if (semctl(id, 0, IPC_STAT, arg) < 0)
		return -errno;
	if (perm_ids(s->perm, &ds.sem_perm.uid, &ds.sem_perm.gid))
		return -ERANGE;
	ds.sem_perm.mode = s->perm->mode;
	if (semctl(id, 0, IPC_SET, arg) < 0) {
		pr_perror("SysV IPC: cannot set the owner of semaphore set %d", id);
		return -errno;
	}
	return 0;
}

static int restore_msg(IpcMsgEntry *q)
{
	struct msqid_ds ds;
	int id, ret;

	if ((ret = set_next_id("msg", q->id)))
		return ret;
	id = msgget(q->perm->key, IPC_CREAT | IPC_EXCL | q->perm->mode);
	if ((ret = check_id("message queue", id, q->id)))
		return ret;
	if (msgctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	ds.msg_qbytes = q->qbytes;
	if (msgctl(id, IPC_SET, &ds) < 0) {
		pr_perror("SysV IPC: cannot set the size of message queue %d", id);
		return -errno;
	}
	for (size_t k = 0; k < q->n_msgs; k++) {
		IpcMsg *m = q->msgs[k];
		_cleanup_free_ struct msgbuf *buf = malloc(sizeof(long) + m->text.len + 1);

		if (!buf)
			return -ENOMEM;
		buf->mtype = m->mtype;
		memcpy(buf->mtext, m->text.data, m->text.len);
		if (m->mtype <= 0 || msgsnd(id, buf, m->text.len, IPC_NOWAIT) < 0) {
			pr_perror("SysV IPC: cannot queue message %zu of queue %d", k, id);
			return m->mtype <= 0 ? -EINVAL : -errno;
		}
	}
	if (perm_ids(q->perm, &ds.msg_perm.uid, &ds.msg_perm.gid))
		return -ERANGE;
	ds.msg_perm.mode = q->perm->mode;
	if (msgctl(id, IPC_SET, &ds) < 0) {
		pr_perror("SysV IPC: cannot set the owner of message queue %d", id);
		return -errno;
	}
	return 0;
}

/*
 * The namespaces made for the tree at restore. Without a user namespace of
 * its own, lxc-cr makes its IPC and time namespaces with unshare() (the
 * network one in net.c) and the root's clone makes the others. With one, a
 * helper makes the user namespace, lxc-cr writes its maps, and the helper
 * makes every other namespace but the PID one inside it, so that they are
 * owned by it; lxc-cr keeps descriptors of them and enters those it works
 * in (UTS, IPC, mount, network), and ns_clone_root() makes the root, with
 * its PID namespace, inside the time and user namespaces.
 */
enum { RK_USER, RK_UTS, RK_IPC, RK_NET, RK_MNT, RK_PID, RK_TIME, RK_NR };

static const struct {
	const char *own;	/* lxc-cr's, in /proc/self/ns */
	const char *made;	/* the helper's new one, in /proc/H/ns */
	uint32_t flag;
} rkinds[RK_NR] = {
	[RK_USER] = { "user", "user", CLONE_NEWUSER },
	[RK_UTS] = { "uts", "uts", CLONE_NEWUTS },
	[RK_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
	[RK_NET] = { "net", "net", CLONE_NEWNET },
	[RK_MNT] = { "mnt", "mnt", CLONE_NEWNS },
	[RK_PID] = { "pid", "pid_for_children", CLONE_NEWPID },
	[RK_TIME] = { "time", "time_for_children", CLONE_NEWTIME },
};

static struct {
	bool init;
	int own[RK_NR];		/* lxc-cr's, to go back to */
	int made[RK_NR];	/* the tree's, made in its user namespace */
	bool in[RK_NR];		/* lxc-cr is in the tree's */
	int cwd;		/* lxc-cr's, as entering a mount namespace moves it */
	const UsernsEntry *user;
} rns;

static void rns_reset(void)
{
	for (int k = 0; k < RK_NR; k++) {
		rns.own[k] = rns.made[k] = -1;
		rns.in[k] = false;
	}
	rns.cwd = -1;
	rns.user = NULL;
	rns.init = true;
}

/* lxc-cr into the tree's namespace k: the one made, or a new one. */
static int rns_enter(struct rst_ctx *ctx, int k)
{
	char path[64];
	int fd;

	if (rns.in[k])
		return 0;
	if (rns.own[k] < 0) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", rkinds[k].own);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			pr_perror("cannot open lxc-cr's %s namespace", rkinds[k].own);
			return -errno;
		}
		rns.own[k] = rst_svc_fd(ctx, fd);
		if (rns.own[k] < 0)
			return rns.own[k];
	}
	if (k == RK_MNT && rns.cwd < 0) {
		fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || (rns.cwd = rst_svc_fd(ctx, fd)) < 0) {
			pr_perror("cannot open lxc-cr's working directory");
			return fd < 0 ? -errno : rns.cwd;
		}
	}
	if (rns.made[k] >= 0 ? setns(rns.made[k], rkinds[k].flag) : unshare(rkinds[k].flag)) {
		pr_perror("cannot %s the tree's %s namespace", rns.made[k] >= 0 ? "enter" : "create",
			  rkinds[k].own);
		return -errno;
	}
	rns.in[k] = true;
	return 0;
}

int ns_unshare(struct rst_ctx *ctx, int flag)
{
	for (int k = 0; k < RK_NR; k++)
		if (rkinds[k].flag == (uint32_t)flag)
			return rns_enter(ctx, k);
	return -EINVAL;
}

static void ts_add_ns(int64_t *sec, uint32_t *nsec, uint64_t add)
{
	uint64_t n = *nsec + add % 1000000000ULL;

	*sec += add / 1000000000ULL + n / 1000000000ULL;
	*nsec = n % 1000000000ULL;
}

/*
 * The offsets of the tree's new time namespace: the saved ones, so that
 * its clocks read as they would have had it kept running here. Where the
 * host's clocks are behind those at dump (another host, or a reboot), the
 * offsets grow by the difference, so that the tree's clocks go on from
 * where they were instead of going back. Written to WHO's timens_offsets
 * (its namespace for children, which no task entered yet).
 */
static int time_offsets(TimensEntry *t, const char *who)
{
	int64_t msec = t->monotonic_sec, bsec = t->boottime_sec;
	uint32_t mnsec = t->monotonic_nsec, bnsec = t->boottime_nsec;
	uint64_t hm, hb;
	char buf[128], path[64];
	_cleanup_close_ int fd = -1;
	int n, ret;

	if ((ret = host_clocks(&hm, &hb)))
		return ret;
	if (hm < t->host_monotonic_ns) {
		ts_add_ns(&msec, &mnsec, t->host_monotonic_ns - hm);
		pr_info("time namespace: the host's monotonic clock is %llu ns behind the dump's; offset raised",
			(unsigned long long)(t->host_monotonic_ns - hm));
	}
	if (hb < t->host_boottime_ns)
		ts_add_ns(&bsec, &bnsec, t->host_boottime_ns - hb);
	snprintf(path, sizeof(path), "/proc/%s/timens_offsets", who);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	n = snprintf(buf, sizeof(buf), "monotonic %lld %u\nboottime %lld %u\n", (long long)msec,
		     mnsec, (long long)bsec, bnsec);
	if (fd < 0 || write(fd, buf, n) != n) {
		pr_perror("time namespace: cannot set the offsets (monotonic %lld.%09u s, boottime %lld.%09u s)",
			  (long long)msec, mnsec, (long long)bsec, bnsec);
		return -errno;
	}
	return 0;
}

static int write_id_map(pid_t pid, const char *name, IdExtent **x, size_t n)
{
	char path[64];
	_cleanup_free_ char *buf = xzalloc(n * 40 + 1);
	_cleanup_close_ int fd = -1;
	size_t len = 0;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		len += sprintf(buf + len, "%u %u %u\n", x[i]->first, x[i]->lower_first, x[i]->count);
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
		pr_perror("user namespace: cannot write %s", name);
		return -errno;
	}
	return 0;
}

/* In the helper: the user namespace, then, once mapped, every other. */
static void __attribute__((noreturn)) user_helper(int in, int out, uint32_t other)
{
	char c;

	if (unshare(CLONE_NEWUSER) < 0) {
		pr_perror("cannot create a user namespace");
		_exit(1);
	}
	if (write(out, "u", 1) != 1 || read(in, &c, 1) != 1)
		_exit(1);
	if (other && unshare(other) < 0) {
		pr_perror("cannot create the tree's namespaces (flags 0x%x) in its user namespace", other);
		_exit(1);
	}
	if (write(out, "n", 1) != 1)
		_exit(1);
	/* until lxc-cr holds them */
	if (read(in, &c, 1) < 0)
		_exit(1);
	_exit(0);
}

static int user_prepare(struct rst_ctx *ctx, NsEntry *e)
{
	/* not the PID namespace: it cannot be held without its init (ns_clone_root()) */
	uint32_t other = e->flags & (CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS |
				     CLONE_NEWTIME);
	int to[2] = { -1, -1 }, from[2] = { -1, -1 }, ret = -EINVAL;
	char c, path[64], who[16];
	pid_t h;

	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	h = fork();
	if (h < 0) {
		ret = -errno;
		pr_perror("cannot fork the user namespace helper");
		goto out;
	}
	if (h == 0) {
		close(to[1]);
		close(from[0]);
		user_helper(to[0], from[1], other);
	}
	close(from[1]);
	from[1] = -1;
	if (read(from[0], &c, 1) != 1) {
		pr_err("user namespace: the helper failed");
		goto out_kill;
	}
	snprintf(path, sizeof(path), "/proc/%d/setgroups", h);
	if (!e->user->setgroups_allow) {
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, "deny", 4) != 4) {
			ret = -errno;
			pr_perror("user namespace: cannot deny setgroups");
			goto out_kill;
		}
	}
	if ((ret = write_id_map(h, "uid_map", e->user->uid_map, e->user->n_uid_map)) ||
	    (ret = write_id_map(h, "gid_map", e->user->gid_map, e->user->n_gid_map)))
		goto out_kill;
	ret = -EINVAL;
	if (write(to[1], "m", 1) != 1 || read(from[0], &c, 1) != 1) {
		pr_err("user namespace: the helper failed to make the other namespaces in it");
		goto out_kill;
	}
	for (int k = 0; k < RK_NR; k++) {
		int fd;

		if (!(e->flags & rkinds[k].flag) || k == RK_PID)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", h, rkinds[k].made);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			pr_perror("cannot open %s", path);
			goto out_kill;
		}
		rns.made[k] = rst_svc_fd(ctx, fd);
		if (rns.made[k] < 0) {
			ret = rns.made[k];
			goto out_kill;
		}
	}
	snprintf(who, sizeof(who), "%d", h);
	if ((e->flags & CLONE_NEWTIME) && (ret = time_offsets(e->time, who)))
		goto out_kill;
	close(to[1]);
	to[1] = -1;
	waitpid(h, NULL, 0);
	ret = 0;
	goto out;
out_kill:
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
out:
	for (int i = 0; i < 2; i++) {
		if (to[i] >= 0)
			close(to[i]);
		if (from[i] >= 0)
			close(from[i]);
	}
	return ret;
}

/* The mount namespace made inside the tree's user namespace, or -1. */
int ns_user_mnt_fd(void)
{
	return rns.made[RK_MNT];
}

int ns_restore_prepare(struct rst_ctx *ctx)
{
	NsEntry *e = ctx->ns;
	int ret;

	if (!e)
		return 0;
	rns.user = e->user;
	if ((e->flags & CLONE_NEWUSER) && (ret = user_prepare(ctx, e)))
		return ret;
	/* made in the user namespace: the root is born in them */
	if (rns.made[RK_UTS] >= 0 && (ret = rns_enter(ctx, RK_UTS)))
		return ret;
	/* a mount namespace made here is filled and entered by mnt_restore_prepare() */
	if (e->flags & CLONE_NEWIPC) {
		if ((ret = rns_enter(ctx, RK_IPC)) || (ret = mqueue_restore_ns(e)))
			return ret;
	}
	if ((e->flags & CLONE_NEWTIME) && rns.made[RK_TIME] < 0) {
		/* only lxc-cr's children enter it: its own clocks do not move */
		if ((ret = rns_enter(ctx, RK_TIME)) || (ret = time_offsets(e->time, "self")))
			return ret;
	}
	return 0;
}

/*
 * With a user namespace: the root, init of a new PID namespace owned by the
 * user namespace. A PID namespace is owned by the user namespace of the
 * task that makes it, cannot be held without its init, and lxc-cr cannot
 * enter the tree's user namespace and come back: a short-lived helper
 * enters the tree's time and user namespaces and clones the root with
 * CLONE_NEWPID, set_tid {1} and CLONE_PARENT (so it is lxc-cr's child, born
 * in every namespace of the tree), tells lxc-cr its PID and exits.
 */
pid_t ns_clone_root(struct rst_ctx *ctx)
{
	int p[2], err = 0;
	pid_t h;
	long r = 0;

	(void)ctx;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	h = fork();
	if (h < 0) {
		err = errno;
		close(p[0]);
		close(p[1]);
		errno = err;
		return -1;
	}
	if (h == 0) {
		pid_t one = 1;
		struct clone_args ca = {
			/* the exit signal is the helper's own: SIGCHLD (fork) */
			.flags = CLONE_PARENT | CLONE_NEWPID,
			.set_tid = (uint64_t)(uintptr_t)&one,
			.set_tid_size = 1,
		};

		close(p[0]);
		if ((rns.made[RK_TIME] >= 0 && setns(rns.made[RK_TIME], CLONE_NEWTIME) < 0) ||
		    setns(rns.made[RK_USER], CLONE_NEWUSER) < 0) {
			r = -errno;
			pr_perror("cannot enter the tree's time or user namespace");
		} else {
			r = syscall(SYS_clone3, &ca, sizeof(ca));
			if (r == 0) {
				close(p[1]);
				return 0;	/* the root */
			}
			if (r < 0) {
				r = -errno;
				pr_perror("cannot create the root in the tree's user namespace");
			}
		}
		_exit(write(p[1], &r, sizeof(r)) != sizeof(r));
	}
	close(p[1]);
	if (read(p[0], &r, sizeof(r)) != sizeof(r))
		r = -ESRCH;
	close(p[0]);
	waitpid(h, NULL, 0);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

/* An id of lxc-cr's user namespace as the tree's sees it, through map x. */
static int id_inside(IdExtent **x, size_t n, uint32_t id, uint32_t *out)
{
	for (size_t i = 0; i < n; i++)
		if (id >= x[i]->lower_first && id - x[i]->lower_first < x[i]->count) {
			*out = x[i]->first + (id - x[i]->lower_first);
			return 0;
		}
	return -ERANGE;
}

int ns_uid_inside(uint32_t uid, uint32_t *out)
{
	*out = uid;
	if (!rns.user)
		return 0;
	if (id_inside(rns.user->uid_map, rns.user->n_uid_map, uid, out)) {
		pr_err("uid %u is not mapped in the tree's user namespace", uid);
		return -ERANGE;
	}
	return 0;
}

int ns_gid_inside(uint32_t gid, uint32_t *out)
{
	*out = gid;
	if (!rns.user)
		return 0;
	if (id_inside(rns.user->gid_map, rns.user->n_gid_map, gid, out)) {
		pr_err("gid %u is not mapped in the tree's user namespace", gid);
		return -ERANGE;
	}
	return 0;
}

/* The host id of the tree's root (inner 0) through map x, or -1 when unmapped. */
static int64_t root_outside(IdExtent **x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (x[i]->first == 0 && x[i]->count)
			return x[i]->lower_first;
	return -1;
}

/*
 * lxc-cr's filesystem ids as the tree's root: a filesystem mounted in the
 * tree's user namespace (its tmpfs, its mqueue fs) refuses to create a file
 * for ids not mapped there (EOVERFLOW), and host root is not mapped in a
 * container's "0 100000 65536". The fs capabilities setfsuid() drops are
 * raised again (host root keeps its capabilities over the namespace); with
 * on false, both ids go back to 0, which brings the capabilities back. A
 * no-op without a user namespace or with the tree's root mapped to 0.
 * Per thread, as setfsuid() and capset() are.
 */
int ns_fsids_root(bool on)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	int64_t u, g;

	if (!rns.user)
		return 0;
	u = root_outside(rns.user->uid_map, rns.user->n_uid_map);
	g = root_outside(rns.user->gid_map, rns.user->n_gid_map);
	if (u <= 0 && g <= 0)
		return 0;
	if (!on) {
		syscall(SYS_setfsuid, 0);
		syscall(SYS_setfsgid, 0);
		return 0;
	}
	if (u < 0 || g < 0) {
		pr_err("user namespace: its root is mapped for %s only; not supported",
		       u < 0 ? "gids" : "uids");
		return -ERANGE;
	}
	syscall(SYS_setfsgid, (gid_t)g);
	syscall(SYS_setfsuid, (uid_t)u);
	if (syscall(SYS_capget, &hdr, data) < 0 ||
	    (data[0].effective = data[0].permitted, data[1].effective = data[1].permitted,
	     syscall(SYS_capset, &hdr, data) < 0)) {
		pr_perror("cannot keep the capabilities with the tree's root as filesystem ids");
		syscall(SYS_setfsuid, 0);
		syscall(SYS_setfsgid, 0);
		return -EPERM;
	}
	return 0;
}

/* Whether this task is in the tree's user namespace (a restored task) or not (lxc-cr). */
static bool in_tree_userns(void)
{
	struct stat a, b;

	return rns.made[RK_USER] >= 0 && fstat(rns.made[RK_USER], &a) == 0 &&
	       stat("/proc/thread-self/ns/user", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool ns_in_tree_userns(void)
{
	return in_tree_userns();
}

static int send_fd(int sk, int fd)
{
	char c = 0, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sk, &mh, 0) == 1 ? 0 : -1;
}

/* A child of this task runs fn (after setup, in the child) and hands back the
 * descriptor fn returns, or the -errno of what failed. */
static int child_fd(int (*setup)(void), int (*fn)(void *), void *arg)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int sk[2], fd = -1, st;
	pid_t h;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sk) < 0)
		return -errno;
	h = fork();
	if (h < 0) {
		close(sk[0]);
		close(sk[1]);
		return -errno;
	}
	if (h == 0) {
		int r;

		close(sk[0]);
		r = setup ? setup() : 0;
		if (!r)
			r = fn(arg);
		if (r < 0)
			_exit(-r < 256 ? -r : EIO);
		_exit(send_fd(sk[1], r) < 0 ? EIO : 0);
	}
	close(sk[1]);
	if (recvmsg(sk[0], &mh, MSG_CMSG_CLOEXEC) == 1 && (cm = CMSG_FIRSTHDR(&mh)) &&
	    cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	close(sk[0]);
	if (waitpid(h, &st, 0) != h || !WIFEXITED(st) || (fd < 0 && !WEXITSTATUS(st))) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	return fd >= 0 ? fd : -WEXITSTATUS(st);
}

int ns_child_fd(int (*setup)(void), int (*fn)(void *), void *arg)
{
	return child_fd(setup, fn, arg);
}

static int fsids_root_setup(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	/* a restored task sees the tree's root as 0; lxc-cr as the host id */
	if (in_tree_userns()) {
		syscall(SYS_setfsgid, 0);
		syscall(SYS_setfsuid, 0);
		if (syscall(SYS_capget, &hdr, data) < 0)
			return -errno;
		data[0].effective = data[0].permitted;
		data[1].effective = data[1].permitted;
		return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
	}
	return ns_fsids_root(true);
}

/*
 * fn (which makes a file and returns a descriptor of it) run as the tree's
 * root, in a child (a restored task cannot take back host root's filesystem
 * ids once it gave them up: host root is not mapped in its namespace).
 * Without a user namespace, fn is called here.
 */
int ns_as_root_fd(int (*fn)(void *), void *arg)
{
	if (!rns.user || rns.made[RK_USER] < 0)
		return fn(arg);
	return child_fd(fsids_root_setup, fn, arg);
}

static int user_setns(void)
{
	return setns(rns.made[RK_USER], CLONE_NEWUSER) < 0 ? -errno : 0;
}

#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif

static int fsopen_fn(void *arg)
{
	int fd = syscall(SYS_fsopen, (const char *)arg, FSOPEN_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/*
 * A filesystem context for fstype opened in the tree's user namespace: the
 * superblock it creates is owned by that namespace, as the tree's own mounts
 * (a tmpfs it mounted) were, so that its root may remount it. -ENOENT
 * without a user namespace.
 */
int ns_user_fsopen(const char *fstype)
{
	if (!rns.user || rns.made[RK_USER] < 0)
		return -ENOENT;
	return child_fd(user_setns, fsopen_fn, (void *)fstype);
}

/*
 * lxc-cr's effective uid as the tree's root's, or back to 0 (on false): the
 * sysctls of an IPC namespace of the tree's user namespace are writable by
 * that namespace's root only (its host uid, not host root's capabilities).
 */
int ns_euid_root(bool on)
{
	int64_t u;

	if (!rns.user || (u = root_outside(rns.user->uid_map, rns.user->n_uid_map)) <= 0)
		return 0;
	if (syscall(SYS_setresuid, -1, on ? (uid_t)u : 0, -1) < 0) {
		pr_perror("cannot set the effective uid to %lld", on ? (long long)u : 0LL);
		return -errno;
	}
	return 0;
}

bool ns_setgroups_denied(void)
{
	return rns.user && !rns.user->setgroups_allow;
}

int ns_restore_leave(void)
{
	for (int k = RK_NR; k-- > 0;) {
		if (!rns.in[k])
			continue;
		if (setns(rns.own[k], rkinds[k].flag) < 0) {
			pr_perror("cannot go back to lxc-cr's %s namespace", rkinds[k].own);
			return -errno;
		}
		rns.in[k] = false;
		if (k == RK_MNT && fchdir(rns.cwd) < 0) {
			pr_perror("cannot go back to lxc-cr's working directory");
			return -errno;
		}
	}
	return 0;
}

void ns_restore_fini(void)
{
	if (!rns.init)
		return;
	/* the namespaces made go away with the last task in them */
	if (ns_restore_leave() < 0)
		abort();
	for (int k = 0; k < RK_NR; k++) {
		if (rns.own[k] >= 0)
			close(rns.own[k]);
		if (rns.made[k] >= 0)
			close(rns.made[k]);
	}
	if (rns.cwd >= 0)
		close(rns.cwd);
	rns.init = false;
}

int ns_restore_root(struct rst_ctx *ctx)
{
	NsEntry *e = ctx->ns;
	int ret;

	if (!e)
		return 0;
	/* in-root: a failure inside a task of the tree (fault injection) */
	if ((ret = mnt_restore_late(ctx)) || (ret = fault_inject("in-root")))
		return ret;
	if (e->hostname && sethostname(e->hostname, strlen(e->hostname)) < 0) {
		pr_perror("cannot set the host name to '%s'", e->hostname);
		return -errno;
	}
	if (e->domainname && setdomainname(e->domainname, strlen(e->domainname)) < 0) {
		pr_perror("cannot set the domain name to '%s'", e->domainname);
		return -errno;
	}
	for (size_t i = 0; i < e->n_shm; i++)
		if ((ret = restore_shm(e->shm[i])))
			return ret;
	for (size_t i = 0; i < e->n_sem; i++)
		if ((ret = restore_sem(e->sem[i])))
			return ret;
	for (size_t i = 0; i < e->n_msg; i++)
		if ((ret = restore_msg(e->msg[i])))
			return ret;
	return 0;
}

/* ---------------------------------------------------------------- restore: PIDs */

int ns_pstree_read(struct pstree_item *item)
{
	PstreeEntry *pe = item->pe;
	struct pstree_item *p = item->parent;
	unsigned l = pe->has_ns_levels ? pe->ns_levels : 1;
	bool init = pe->has_pidns_init && pe->pidns_init;

	if (l < 1 || l > NS_MAX_PID_LEVELS || pe->n_ns_tids != (size_t)item->nr_threads * (l - 1) ||
	    (!p && (l != 1 || init)) || (p && l != p->nr_levels + init)) {
		pr_err("image pstree.img: pid %u: its PID namespace levels (%u levels, %zu ids%s) are invalid",
		       pe->pid, l, pe->n_ns_tids, init ? ", a nested init" : "");
		return -EINVAL;
	}
	if (init && p && pe->sid != pe->pid && pe->sid != p->pe->sid) {
		pr_err("image pstree.img: pid %u: the init of a nested PID namespace in a session of a sibling; not supported",
		       pe->pid);
		return -EINVAL;
	}
	item->nr_levels = l;
	item->pidns_init = init;
	item->state = pe->state;
	item->vtids = xzalloc(sizeof(pid_t) * l * item->nr_threads);
	if (!item->vtids)
		return -ENOMEM;
	for (unsigned t = 0; t < item->nr_threads; t++) {
		item->vtids[t * l] = item->threads[t];
		for (unsigned k = 1; k < l; k++) {
			uint32_t v = pe->ns_tids[t * (l - 1) + k - 1];

			/* pid 1 of a nested namespace is its init's leader, no one else */
			if (!v || v > 4194304 || (v == 1 && !(init && t == 0 && k == l - 1)) ||
			    (init && t == 0 && k == l - 1 && v != 1)) {
				pr_err("image pstree.img: pid %u: thread %u has the invalid id %u at PID namespace level %u",
				       pe->pid, item->threads[t], v, k + 1);
				return -EINVAL;
			}
			item->vtids[t * l + k] = v;
		}
	}
	return 0;
}

int ns_pstree_check(struct pstree_item **items, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct pstree_item *it = items[i], *p = it->parent;
		bool pg, sid;

		if (it->nr_levels <= 1 || it->state == TASK_ZOMBIE)
			continue;
		pg = it->pgid == it->pid || ns_pid_for(items, n, it, it->pgid);
		sid = it->sid == it->pid || ns_pid_for(items, n, it, it->sid);
		/* a group or session it cannot see: it was born in it (its parent
		 * moves a nested init into its group, which the init cannot do) */
		if (!sid && it->sid != p->sid) {
			pr_err("pid %d: its session %d is outside its PID namespace and not its parent's; not supported",
			       it->pid, it->sid);
			return -EINVAL;
		}
		if (!pg && !(it->pidns_init ? ns_pid_for(items, n, p, it->pgid) != 0 :
					      it->pgid == p->pgid)) {
			pr_err("pid %d: its process group %d is outside its PID namespace and not its parent's; not supported",
			       it->pid, it->pgid);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- restore: a container below the root */

/*
 * A tree rooted above its container: the container's root (ns.img's ct_pid)
 * is the init of a PID namespace nested in the tree's root's, whose parent
 * is in the root's line.
 */
int ns_ct_find(struct rst_ctx *ctx)
{
	struct pstree_item *ct = NULL;

	if (!ctx->ns || !ctx->ns->has_ct_pid)
		return 0;
	for (unsigned i = 1; i < ctx->nr_items; i++)
		if (ctx->items[i]->pid == (pid_t)ctx->ns->ct_pid)
			ct = ctx->items[i];
	if (!ct || !ct->pidns_init || ct->nr_levels != 2 || ct->pe->state != TASK_ALIVE) {
		pr_err("image ns.img: container root %u is not a live init of a PID namespace nested in the root's",
		       ctx->ns->ct_pid);
		return -EINVAL;
	}
	for (const struct pstree_item *p = ct->parent; p; p = p->parent)
		if (p->nr_levels != 1) {
			pr_err("image pstree.img: pid %d, above the container's root %d, is in a nested PID namespace",
			       p->pid, ct->pid);
			return -EINVAL;
		}
	ctx->ct = ct;
	return 0;
}

/*
 * lxc-cr made the container's IPC namespace (ns_restore_prepare(), with its
 * message queues) and stays there: keep it, and go back, so that the tree's
 * root is born in lxc-cr's.
 */
int ns_ct_hold(struct rst_ctx *ctx)
{
	int fd;

	if (!ctx->ct)
		return 0;
	if (rns.in[RK_IPC] && rns.made[RK_IPC] < 0) {
		fd = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (rns.made[RK_IPC] = rst_svc_fd(ctx, fd)) < 0) {
			pr_perror("cannot keep the container's IPC namespace");
			return -EIO;
		}
	}
	return ns_restore_leave();
}

/*
 * In the parent of the container's root, around its clone: into the
 * container's IPC, network and mount namespaces (the clone adds the PID and
 * UTS ones), and back into its own (own[] holds them meanwhile).
 */
int ns_ct_enter(struct rst_ctx *ctx, int own[3])
{
	static const char *const names[3] = { "ipc", "net", "mnt" };
	static const int flags[3] = { CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS };
	int made[3] = { rns.made[RK_IPC], net_ns_fd(), mnt_ns_fd() };
	char path[32];

	(void)ctx;
	for (int k = 0; k < 3; k++) {
		own[k] = -1;
		if (made[k] < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/ns/%s", names[k]);
		own[k] = open(path, O_RDONLY | O_CLOEXEC);
		if (own[k] < 0) {
			pr_perror("cannot open its own %s namespace", names[k]);
			return -errno;
		}
	}
	for (int k = 0; k < 3; k++)
		if (made[k] >= 0 && setns(made[k], flags[k]) < 0) {
			pr_perror("cannot enter the container's %s namespace", names[k]);
			return -errno;
		}
	return 0;
}

int ns_ct_leave(int own[3])
{
	static const int flags[3] = { CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS };
	int ret = 0;

	for (int k = 3; k-- > 0;) {
		if (own[k] < 0)
			continue;
		if (setns(own[k], flags[k]) < 0) {
			pr_perror("cannot go back to its own namespace (kind 0x%x)", flags[k]);
			ret = -errno;
		}
		close(own[k]);
		own[k] = -1;
	}
	return ret;
}

uint64_t ns_ct_flags(struct rst_ctx *ctx)
{
	if (!ctx->ns || !ctx->ns->has_ct_pid)
		return 0;
	return ctx->ns->flags & ~(uint64_t)(NS_EARLY_FLAGS | CLONE_NEWNS | CLONE_NEWPID);
}
