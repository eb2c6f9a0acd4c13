/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Namespaces. The tree's root may have PID, UTS, IPC and network namespaces
 * of its own (it must then be the init of its PID namespace), and a mount
 * namespace (mnt.c); every other task must share all of the root's. User,
 * cgroup and time namespaces must still be lxc-cr's. The network namespace
 * is in net.c.
 *
 * PID: images name tasks by their PIDs inside the root's namespace (the
 * last field of NSpid); host PIDs are only used to reach them at dump.
 * The restore clones the root with CLONE_NEWPID and set_tid {1}, and the
 * others from inside with their own PIDs.
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

/* dump: what ns_dump_check learnt */
static struct {
	uint32_t flags;
	unsigned levels;
	pid_t root;
	unsigned nr;
	struct { pid_t host, inner; } *map;
} dns = { .levels = 1 };

/* Inode of /proc/WHO/ns/NAME; 0 where the kernel lacks that kind. */
static int ns_ino(const char *who, const char *name, uint64_t *ino)
{
	char path[64];
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

/* NSpid of /proc/REL/status: its last field and how many there are. */
static int read_nspid(const char *rel, pid_t *last, unsigned *levels)
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
		*last = x;
		n++;
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

pid_t ns_proc_vpid(pid_t hpid, pid_t htid)
{
	char rel[48];
	pid_t v = 0;
	unsigned l;
	int ret;

	snprintf(rel, sizeof(rel), "%d/task/%d", hpid, htid);
	ret = read_nspid(rel, &v, &l);
	return ret ? ret : v;
}

pid_t ns_vpid(pid_t host)
{
	if (!(dns.flags & CLONE_NEWPID))
		return host;
	for (unsigned i = 0; i < dns.nr; i++)
		if (dns.map[i].host == host)
			return dns.map[i].inner;
	return 0;
}

unsigned ns_pid_levels(void)
{
	return dns.levels;
}

void ns_dump_fini(void)
{
	free(dns.map);
	dns.map = NULL;
	dns.nr = 0;
	dns.flags = 0;
	dns.levels = 1;
	dns.root = 0;
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

static int map_add(pid_t host, const char *rel)
{
	pid_t inner = 0;
	unsigned levels = 0;
	int ret = read_nspid(rel, &inner, &levels);
	void *n;

	if (ret)
		return ret;
	if (levels != dns.levels) {
		pr_err("pid %d: is in a nested PID namespace; not supported", host);
		return -ENOTSUP;
	}
	n = xrealloc_array(dns.map, dns.nr + 1, sizeof(*dns.map));
	if (!n)
		return -ENOMEM;
	dns.map = n;
	dns.map[dns.nr].host = host;
	dns.map[dns.nr].inner = inner;
	dns.nr++;
	return 0;
}

static int build_pid_map(struct dump_ctx *ctx)
{
	char rel[48];
	pid_t last = 0;
	struct pstree_item *root = ctx->items[0];
	int ret;

	snprintf(rel, sizeof(rel), "%d", root->pid);
	ret = read_nspid(rel, &last, &dns.levels);
	if (ret)
		return ret;
	if (last != 1) {
		pr_err("pid %d: has a PID namespace of its own but is not its init (it is pid %d there)",
		       root->pid, last);
		return -ENOTSUP;
	}
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *it = ctx->items[i];

		for (unsigned t = 0; t < it->nr_threads; t++) {
			if (it->state == TASK_ZOMBIE)
				snprintf(rel, sizeof(rel), "%d", it->pid);
			else
				snprintf(rel, sizeof(rel), "%d/task/%d", it->pid, it->threads[t]);
			ret = map_add(it->threads[t], rel);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int ns_dump_check(struct dump_ctx *ctx)
{
	uint64_t self[NR_NS_KINDS], root[NR_NS_KINDS], ino;
	char who[16];
	int ret;

	ns_dump_fini();
	for (unsigned k = 0; k < NR_NS_KINDS; k++)
		if ((ret = ns_ino("self", ns_kinds[k].name, &self[k])))
			return ret;
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *it = ctx->items[i];

		if (it->state == TASK_ZOMBIE)
			continue;
		snprintf(who, sizeof(who), "%d", it->pid);
		for (unsigned k = 0; k < NR_NS_KINDS; k++) {
			ret = ns_ino(who, ns_kinds[k].name, &ino);
			if (ret == -ENOENT && !self[k])
				continue;
			if (ret) {
				pr_err("pid %d: cannot read its %s namespace", it->pid, ns_kinds[k].name);
				return ret;
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
				dns.flags |= ns_kinds[k].flag;
			} else if (ino != root[k]) {
				pr_err("pid %d: its %s namespace is not the one of the root (pid %d); not supported",
				       it->pid, ns_kinds[k].name, ctx->items[0]->pid);
				return -ENOTSUP;
			}
		}
	}
	if (dns.flags & CLONE_NEWPID) {
		ret = build_pid_map(ctx);
		if (ret)
			return ret;
	}
	if (dns.flags)
		pr_info("the tree has namespaces of its own: %s%s%s%s%s",
			dns.flags & CLONE_NEWPID ? "pid " : "", dns.flags & CLONE_NEWUTS ? "uts " : "",
			dns.flags & CLONE_NEWIPC ? "ipc " : "", dns.flags & CLONE_NEWNS ? "mnt " : "",
			dns.flags & CLONE_NEWNET ? "net" : "");
	dns.root = ctx->items[0]->pid;
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
	/* the network and mount namespaces exist before the root: it is born in them */
	return ctx->ns ? ctx->ns->flags & ~(uint64_t)(CLONE_NEWNET | CLONE_NEWNS) : 0;
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
	if ((ret = mnt_restore_late(ctx)))
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
