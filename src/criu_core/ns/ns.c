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
#include <sched.h>
#include <stddef.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>

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

#define NS_OWN_FLAGS (CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWNET)
#define NS_MAX_DATA (48u << 20)		/* all shm contents and messages: one record */

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
	{ "cgroup", CLONE_NEWCGROUP },	{ "time", CLONE_NEWTIME },
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
	pid_t root;
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
	if ((dns.flags & CLONE_NEWPID) && f[dns.levels - 1] != 1) {
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

int ns_dump_check(struct dump_ctx *ctx)
{
	uint64_t self[NR_NS_KINDS], root[NR_NS_KINDS];
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

			if (!*has)
				continue;
			if (i == 0) {
				root[k] = ino;
				if (ino == self[k])
					continue;
				if (!(ns_kinds[k].flag & NS_OWN_FLAGS)) {
					pr_err("pid %d: its %s namespace differs from lxc-cr's; not supported yet",
					       it->pid, ns_kinds[k].name);
					return -ENOTSUP;
				}
				dns.flags |= ns_kinds[k].flag;
			} else if (ino != root[k] && ns_kinds[k].flag != CLONE_NEWPID) {
				/* a nested PID namespace is checked with the PIDs */
				pr_err("pid %d: its %s namespace is not the one of the root (pid %d); not supported yet",
				       it->pid, ns_kinds[k].name, ctx->items[0]->pid);
				return -ENOTSUP;
			}
		}
	}
	if ((ret = build_pid_map(ctx)))
		return ret;
	if (dns.flags)
		pr_info("the tree has namespaces of its own: %s%s%s%s%s",
			dns.flags & CLONE_NEWPID ? "pid " : "", dns.flags & CLONE_NEWUTS ? "uts " : "",
			dns.flags & CLONE_NEWIPC ? "ipc " : "", dns.flags & CLONE_NEWNS ? "mnt " : "",
			dns.flags & CLONE_NEWNET ? "net" : "");
	dns.root = ctx->items[0]->pid;
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

/* Run fn with this thread in the root's namespace of kind flag. */
static int in_ns(pid_t pid, const char *name, int flag, int (*fn)(NsEntry *, size_t *), NsEntry *e,
		 size_t *total)
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
	ret = fn(e, total);
	if (setns(own, flag) < 0) {
		/* nothing sensible is left to do in a thread stuck in another namespace */
		pr_perror("cannot go back to lxc-cr's %s namespace", name);
		abort();
	}
	return ret;
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
	return ret;
}

int ns_dump(struct dump_ctx *ctx)
{
	NsEntry e = NS_ENTRY__INIT;
	pid_t root = ctx->items[0]->pid;
	size_t total = 0;
	int ret = 0;

	e.flags = dns.flags;
	if (dns.flags & CLONE_NEWUTS)
		ret = in_ns(root, "uts", CLONE_NEWUTS, dump_uts, &e, &total);
	if (!ret && (dns.flags & CLONE_NEWIPC))
		ret = in_ns(root, "ipc", CLONE_NEWIPC, dump_ipc, &e, &total);
	if (!ret && (dns.flags & CLONE_NEWNS))
		ret = mnt_dump(ctx, root, &e);
	if (!ret && (dns.flags & CLONE_NEWNET))
		ret = net_dump(root, &e);
	if (!ret)
		ret = img_write_pb(dump_img(ctx, IMG_NS), &e.base);
	if (!ret && (e.n_shm || e.n_sem || e.n_msg))
		pr_info("SysV IPC: %zu shared memory segments, %zu semaphore sets, %zu message queues",
			e.n_shm, e.n_sem, e.n_msg);
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
	if (e.net)
		protobuf_c_message_free_unpacked(&e.net->base, NULL);
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

int ns_read(struct rst_ctx *ctx)
{
	struct cr_img *img = img_open_optional(&ctx->dir, IMG_NS, 0);
	NsEntry *e;
	int ret;

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
	if ((e->flags & CLONE_NEWPID) && ctx->inv->root_pid != 1) {
		pr_err("image ns.img: the root of a PID namespace of its own is pid %u, not 1",
		       ctx->inv->root_pid);
		return -EINVAL;
	}
	if ((e->hostname && strlen(e->hostname) > 64) || (e->domainname && strlen(e->domainname) > 64) ||
	    ((e->hostname || e->domainname) && !(e->flags & CLONE_NEWUTS)) ||
	    ((e->n_shm || e->n_sem || e->n_msg) && !(e->flags & CLONE_NEWIPC))) {
		pr_err("image ns.img: UTS names or IPC objects without their namespace, or too long");
		return -EINVAL;
	}
	if (!!e->net != !!(e->flags & CLONE_NEWNET)) {
		pr_err("image ns.img: a network namespace without its flag, or the flag without it");
		return -EINVAL;
	}
	if (e->net && (ret = net_validate(e->net)))
		return ret;
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
	return mnt_check(e);
}

uint64_t ns_root_flags(struct rst_ctx *ctx)
{
	/* the network namespace exists before the root: it is born in it */
	return ctx->ns ? ctx->ns->flags & ~(uint64_t)CLONE_NEWNET : 0;
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
	ds.shm_perm.uid = s->perm->uid;
	ds.shm_perm.gid = s->perm->gid;
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
	ds.sem_perm.uid = s->perm->uid;
	ds.sem_perm.gid = s->perm->gid;
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
	ds.msg_perm.uid = q->perm->uid;
	ds.msg_perm.gid = q->perm->gid;
	ds.msg_perm.mode = q->perm->mode;
	if (msgctl(id, IPC_SET, &ds) < 0) {
		pr_perror("SysV IPC: cannot set the owner of message queue %d", id);
		return -errno;
	}
	return 0;
}

int ns_restore_root(struct rst_ctx *ctx)
{
	NsEntry *e = ctx->ns;
	int ret;

	if (!e)
		return 0;
	if ((ret = mnt_restore(ctx)))
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
