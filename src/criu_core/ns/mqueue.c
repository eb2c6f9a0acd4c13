/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * POSIX message queues: the mqueue filesystem of an IPC namespace.
 *
 * Dump. The queues of the tree's own IPC namespace go into ns.img with
 * their mode, owner, attributes and messages, with the namespace's mqueue
 * sysctls. They are listed through a mount of the namespace's mqueue fs
 * made with fsopen()/fsmount() by lxc-cr's thread moved into the namespace:
 * it is attached nowhere and goes away with its descriptor.
 *
 * A message cannot be read without being taken off its queue. Every message
 * is received (highest priority first, oldest first within a priority: the
 * queue's own order) and the same messages are sent back in that order at
 * once, before anything else can fail, so a failed dump and --leave-running
 * find the queue as it was. The tree is stopped meanwhile: none of its tasks
 * waits in mq_timedsend()/mq_timedreceive(), so no message goes straight to
 * a waiting receiver nor comes in from a waiting sender. A queue with an
 * mq_notify() registration is refused by name: the registration's sigevent
 * value cannot be read back, and sending to an empty queue would fire it.
 *
 * Restore. lxc-cr, in the tree's new IPC namespace before the root is
 * cloned, raises the mqueue sysctls to what the queues need, creates each
 * queue with its attributes, sends its messages in order, sets its mode and
 * owner, then writes the saved sysctls.
 *
 * Descriptors (mqueue.img): name and flags, opened again by name in the
 * tree's IPC namespace (its own, or lxc-cr's, where the queue must still
 * exist, as a regular file must).
 */
#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#include "fd/files.h"
#include "ns/ns.h"
#include "restore/restore.h"

#define MQUEUE_MAGIC 0x19800202
#define MQ_HARD_QUEUES 1024
#define MQ_HARD_MSGMAX 65536
#define MQ_HARD_MSGSIZE (16 << 20)
#define MQ_PRIO_LIMIT 32768
#define MQ_NAME_LEN 255

/* the new mount API (Linux 5.2), named here apart from <sys/mount.h>'s */
#define CRC_FSOPEN_CLOEXEC 0x1
#define CRC_FSCONFIG_CMD_CREATE 6
#define CRC_FSMOUNT_CLOEXEC 0x1

static const char *const mq_sysctl_names[] = {
	"queues_max", "msg_max", "msgsize_max", "msg_default", "msgsize_default",
};
#define NR_MQ_SYSCTLS (sizeof(mq_sysctl_names) / sizeof(mq_sysctl_names[0]))

static bool mq_name_ok(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	return len && len <= MQ_NAME_LEN && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..");
}

/* ---------------------------------------------------------------- dump */

/* A directory descriptor of the mqueue fs of the current IPC namespace. */
static int mqueue_fs_open(void)
{
	_cleanup_close_ int fs = -1, mnt = -1;
	int dfd;

	fs = syscall(SYS_fsopen, "mqueue", CRC_FSOPEN_CLOEXEC);
	if (fs < 0 || syscall(SYS_fsconfig, fs, CRC_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (mnt = syscall(SYS_fsmount, fs, CRC_FSMOUNT_CLOEXEC, 0)) < 0) {
		pr_perror("cannot mount the mqueue filesystem of the tree's IPC namespace");
		return -errno;
	}
	dfd = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		pr_perror("cannot open the mqueue filesystem of the tree's IPC namespace");
		return -errno;
	}
	return dfd;
}

/* The pid registered with mq_notify() on queue fd (0: none), from its status line. */
static int mq_notify_pid(int fd, const char *name, pid_t *pid)
{
	char buf[160];
	const char *v;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0) {
		pr_perror("mqueue '/%s': cannot read its status", name);
		return n < 0 ? -errno : -EIO;
	}
	buf[n] = '\0';
	v = strstr(buf, "NOTIFY_PID:");
	if (!v) {
		pr_err("mqueue '/%s': no NOTIFY_PID in its status '%s'", name, buf);
		return -EINVAL;
	}
	*pid = atoi(v + strlen("NOTIFY_PID:"));
	return 0;
}

static void mq_msgs_free(MqMsg **msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(msgs[i]->data.data);
		free(msgs[i]);
	}
	free(msgs);
}

/*
 * Take every message of queue q and put them all back in the same order;
 * on success *out holds copies of them. Room for every message is made
 * before the first is taken, so that nothing can fail between taking a
 * message and putting it back but the kernel itself.
 */
static int mq_copy_msgs(int q, const char *name, const struct mq_attr *a, MqMsg ***out, size_t *nr)
{
	size_t want = a->mq_curmsgs, got = 0;
	MqMsg **msgs = xzalloc(sizeof(*msgs) * (want + 1));
	int ret = 0;

	if (!msgs)
		return -ENOMEM;
	for (size_t k = 0; k < want; k++) {
		msgs[k] = xzalloc(sizeof(**msgs));
		if (msgs[k])
			mq_msg__init(msgs[k]);
		if (!msgs[k] || !(msgs[k]->data.data = malloc(a->mq_msgsize))) {
			mq_msgs_free(msgs, msgs[k] ? k + 1 : k);
			return -ENOMEM;
		}
	}
	while (got < want) {
		unsigned prio;
		ssize_t r = mq_receive(q, (char *)msgs[got]->data.data, a->mq_msgsize, &prio);

		if (r < 0) {
			ret = -errno;
			pr_perror("mqueue '/%s': cannot read message %zu of %zu", name, got, want);
			break;
		}
		msgs[got]->prio = prio;
		msgs[got]->data.len = r;
		got++;
	}
	/* back in the order they came out: each goes behind those of its priority */
	for (size_t k = 0; k < got; k++) {
		int tries = 0;

		while (mq_send(q, (char *)msgs[k]->data.data, msgs[k]->data.len, msgs[k]->prio) < 0) {
			if ((errno != ENOMEM && errno != EINTR) || ++tries > 100) {
				pr_perror("mqueue '/%s': message %zu of %zu could not be put back; it is lost",
					  name, k, got);
				ret = ret ?: -errno;
				break;
			}
			usleep(10000);
		}
	}
	if (ret) {
		mq_msgs_free(msgs, want);
		return ret;
	}
	*out = msgs;
	*nr = got;
	return 0;
}

static int dump_queue(int dfd, const char *name, NsEntry *e, size_t *total)
{
	_cleanup_close_ int q = -1;
	struct mq_attr a;
	struct stat st;
	MqueueEntry *me, **n;
	pid_t notify;
	int ret;

	if (!mq_name_ok(name)) {
		pr_err("mqueue '/%s': a name lxc-cr cannot save", name);
		return -ENOTSUP;
	}
	q = openat(dfd, name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (q < 0 || fstat(q, &st) < 0 || mq_getattr(q, &a) < 0) {
		pr_perror("mqueue '/%s': cannot open it", name);
		return -errno;
	}
	if ((ret = mq_notify_pid(q, name, &notify)))
		return ret;
	if (notify) {
		pr_err("mqueue '/%s': pid %d is registered for its notification (mq_notify); not supported",
		       name, notify);
		return -ENOTSUP;
	}
	if (a.mq_maxmsg < 1 || a.mq_maxmsg > MQ_HARD_MSGMAX || a.mq_msgsize < 1 ||
	    a.mq_msgsize > MQ_HARD_MSGSIZE || a.mq_curmsgs < 0 || a.mq_curmsgs > a.mq_maxmsg) {
		pr_err("mqueue '/%s': unexpected attributes (maxmsg %ld, msgsize %ld, %ld messages)", name,
		       (long)a.mq_maxmsg, (long)a.mq_msgsize, (long)a.mq_curmsgs);
		return -EINVAL;
	}
	*total += (size_t)a.mq_curmsgs * (a.mq_msgsize + 16);
	if (*total > NS_MAX_DATA) {
		pr_err("mqueue '/%s': the IPC objects may hold more than %u MiB; not supported", name,
		       NS_MAX_DATA >> 20);
		return -EFBIG;
	}
	me = xzalloc(sizeof(*me));
	n = xrealloc_array(e->mqueues, e->n_mqueues + 1, sizeof(*n));
	if (!me || !n) {
		free(me);
		return -ENOMEM;
	}
	e->mqueues = n;
	mqueue_entry__init(me);
	e->mqueues[e->n_mqueues++] = me;
	me->name = strdup(name);
	if (!me->name)
		return -ENOMEM;
	me->mode = st.st_mode & 0777;
	me->uid = st.st_uid;
	me->gid = st.st_gid;
	me->maxmsg = a.mq_maxmsg;
	me->msgsize = a.mq_msgsize;
	if (a.mq_curmsgs && (ret = mq_copy_msgs(q, name, &a, &me->msgs, &me->n_msgs)))
		return ret;
	pr_info("mqueue '/%s': mode %o, maxmsg %ld, msgsize %ld, %zu messages", name, me->mode,
		(long)me->maxmsg, (long)me->msgsize, me->n_msgs);
	return 0;
}

static int dump_mq_sysctls(NsEntry *e)
{
	e->mq_sysctls = xzalloc(sizeof(*e->mq_sysctls) * NR_MQ_SYSCTLS);
	if (!e->mq_sysctls)
		return -ENOMEM;
	for (unsigned i = 0; i < NR_MQ_SYSCTLS; i++) {
		char path[64];
		_cleanup_free_ char *v = NULL;
		MqueueSysctl *s;

		snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", mq_sysctl_names[i]);
		v = read_file_at(AT_FDCWD, path, NULL);
		if (!v)
			continue;	/* a kernel without it */
		s = xzalloc(sizeof(*s));
		if (!s)
			return -ENOMEM;
		mqueue_sysctl__init(s);
		e->mq_sysctls[e->n_mq_sysctls++] = s;
		s->name = strdup(mq_sysctl_names[i]);
		s->value = strtoul(v, NULL, 10);
		if (!s->name)
			return -ENOMEM;
	}
	return 0;
}

int mqueue_dump_ns(NsEntry *e, size_t *total)
{
	DIR *d;
	struct dirent *de;
	int dfd, ret;

	if ((ret = dump_mq_sysctls(e)))
		return ret;
	dfd = mqueue_fs_open();
	if (dfd < 0)
		return dfd;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -ENOMEM;
	}
	while (!ret && (de = readdir(d))) {
		if (de->d_type == DT_DIR)
			continue;
		ret = dump_queue(dirfd(d), de->d_name, e, total);
	}
	closedir(d);
	return ret;
}

/* ---------------------------------------------------------------- restore */

int mqueue_validate(NsEntry *e)
{
	if (e->n_mqueues > MQ_HARD_QUEUES || e->n_mq_sysctls > NR_MQ_SYSCTLS) {
		pr_err("image ns.img: %zu POSIX message queues or %zu mqueue sysctls; too many",
		       e->n_mqueues, e->n_mq_sysctls);
		return -EINVAL;
	}
	for (size_t i = 0; i < e->n_mq_sysctls; i++) {
		MqueueSysctl *s = e->mq_sysctls[i];
		bool known = false;

		for (unsigned k = 0; k < NR_MQ_SYSCTLS; k++)
			known |= !strcmp(s->name, mq_sysctl_names[k]);
		if (!known || s->value > INT32_MAX) {
			pr_err("image ns.img: mqueue sysctl '%s' = %u is not one lxc-cr restores", s->name,
			       s->value);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < e->n_mqueues; i++) {
		MqueueEntry *q = e->mqueues[i];

		if (!mq_name_ok(q->name) || q->mode > 0777 || q->maxmsg < 1 ||
		    q->maxmsg > MQ_HARD_MSGMAX || q->msgsize < 1 || q->msgsize > MQ_HARD_MSGSIZE ||
		    q->n_msgs > (size_t)q->maxmsg) {
			pr_err("image ns.img: POSIX message queue '/%s' has invalid attributes",
			       mq_name_ok(q->name) ? q->name : "?");
			return -EINVAL;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcmp(e->mqueues[k]->name, q->name)) {
				pr_err("image ns.img: POSIX message queue '/%s' is there twice", q->name);
				return -EINVAL;
			}
		for (size_t k = 0; k < q->n_msgs; k++)
			if (q->msgs[k]->data.len > (size_t)q->msgsize || q->msgs[k]->prio >= MQ_PRIO_LIMIT) {
				pr_err("image ns.img: POSIX message queue '/%s': message %zu is larger than the queue's message size or has priority %u",
				       q->name, k, q->msgs[k]->prio);
				return -EINVAL;
			}
	}
	return 0;
}

static int mq_sysctl(const char *name, long *get, long set)
{
	char path[64], buf[24];
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *v = NULL;
	int n;

	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", name);
	if (get) {
		v = read_file_at(AT_FDCWD, path, NULL);
		*get = v ? strtol(v, NULL, 10) : 0;
		return 0;
	}
	/* only the root of the namespace's user namespace may write them */
	if ((n = ns_euid_root(true)))
		return n;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	n = snprintf(buf, sizeof(buf), "%ld", set);
	if (fd < 0 || write(fd, buf, n) != n) {
		int err = errno;

		ns_euid_root(false);
		errno = err;
		pr_perror("IPC namespace: cannot set %s to %ld", path, set);
		return -err;
	}
	return ns_euid_root(false);
}

/* Raise sysctl name to at least need. */
static int mq_sysctl_raise(const char *name, long need)
{
	long cur;

	mq_sysctl(name, &cur, 0);
	return cur >= need ? 0 : mq_sysctl(name, NULL, need);
}

static int restore_queue(MqueueEntry *q)
{
	struct mq_attr a = { .mq_maxmsg = q->maxmsg, .mq_msgsize = q->msgsize };
	char path[MQ_NAME_LEN + 2];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "/%s", q->name);
	fd = mq_open(path, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK | O_CLOEXEC, 0600, &a);
	if (fd < 0) {
		pr_perror("mqueue '%s': cannot create it (maxmsg %lld, msgsize %lld)%s", path,
			  (long long)q->maxmsg, (long long)q->msgsize,
			  errno == EMFILE ? ": over RLIMIT_MSGQUEUE of lxc-cr's user" : "");
		return -errno;
	}
	for (size_t k = 0; k < q->n_msgs; k++)
		if (mq_send(fd, (char *)q->msgs[k]->data.data, q->msgs[k]->data.len, q->msgs[k]->prio) < 0) {
			pr_perror("mqueue '%s': cannot queue message %zu", path, k);
			return -errno;
		}
	if (fchown(fd, q->uid, q->gid) < 0 || fchmod(fd, q->mode) < 0) {
		pr_perror("mqueue '%s': cannot set its owner %u:%u and mode %o", path, q->uid, q->gid,
			  q->mode);
		return -errno;
	}
	return 0;
}

int mqueue_restore_ns(NsEntry *e)
{
	long need_msg = 1, need_size = 128;
	struct rlimit old, rl;
	int ret = 0;

	if (!e->n_mqueues && !e->n_mq_sysctls)
		return 0;
	for (size_t i = 0; i < e->n_mqueues; i++) {
		need_msg = max_t(long, need_msg, e->mqueues[i]->maxmsg);
		need_size = max_t(long, need_size, e->mqueues[i]->msgsize);
	}
	if (e->n_mqueues && ((ret = mq_sysctl_raise("queues_max", e->n_mqueues)) ||
			     (ret = mq_sysctl_raise("msg_max", need_msg)) ||
			     (ret = mq_sysctl_raise("msgsize_max", need_size))))
		return ret;
	/* the queues are charged to lxc-cr's user: as much room as it may have */
	getrlimit(RLIMIT_MSGQUEUE, &old);
	rl = old;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_MSGQUEUE, &rl);
	/* made as the tree's root: its mqueue fs takes ids mapped in its user namespace */
	ret = ns_fsids_root(true);
	for (size_t i = 0; !ret && i < e->n_mqueues; i++)
		ret = restore_queue(e->mqueues[i]);
	ns_fsids_root(false);
	setrlimit(RLIMIT_MSGQUEUE, &old);
	/* only those that differ from the new namespace's (written as the root of
	 * the tree's user namespace, mq_sysctl()) */
	for (size_t i = 0; !ret && i < e->n_mq_sysctls; i++) {
		long cur;

		mq_sysctl(e->mq_sysctls[i]->name, &cur, 0);
		if (cur != (long)e->mq_sysctls[i]->value)
			ret = mq_sysctl(e->mq_sysctls[i]->name, NULL, e->mq_sysctls[i]->value);
	}
	return ret;
}

/* ---------------------------------------------------------------- descriptors */

static bool mqueue_match(const struct fd_parms *p)
{
	struct statfs sf;

	return p->fd >= 0 && S_ISREG(p->st.st_mode) && statfs(p->path, &sf) == 0 &&
	       sf.f_type == MQUEUE_MAGIC;
}

/* in the tree's IPC namespace: the device of its mqueue fs */
static int mq_fs_dev(void *arg)
{
	struct stat st;
	int dfd = mqueue_fs_open(), ret = 0;

	if (dfd < 0)
		return dfd;
	if (fstat(dfd, &st) < 0)
		ret = -errno;
	else
		*(dev_t *)arg = st.st_dev;
	close(dfd);
	return ret;
}

static int mqueue_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	MqueueFileEntry e = MQUEUE_FILE_ENTRY__INIT;
	const char *name = p->link + 1;
	dev_t own_dev = 0;
	_cleanup_close_ int fd = -1;
	pid_t notify = 0;
	int ret;

	if (p->link[0] != '/' || !mq_name_ok(name)) {
		pr_err("pid %d fd %d: POSIX message queue '%s' was removed (mq_unlink) or has an odd name; not supported",
		       p->pid, p->fd, p->link);
		return -ENOTSUP;
	}
	if (ns_dump_own(CLONE_NEWIPC)) {
		if ((ret = ns_call_in_root("ipc", CLONE_NEWIPC, mq_fs_dev, &own_dev)))
			return ret;
		if (p->st.st_dev != own_dev) {
			pr_err("pid %d fd %d: POSIX message queue '%s' is not of the tree's IPC namespace; not supported",
			       p->pid, p->fd, p->link);
			return -ENOTSUP;
		}
	} else {
		/* a queue of lxc-cr's namespace stays; a registration of the tree's would not */
		fd = open(p->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			pr_perror("pid %d fd %d: cannot open POSIX message queue '%s'", p->pid, p->fd,
				  p->link);
			return -errno;
		}
		if ((ret = mq_notify_pid(fd, name, &notify)))
			return ret;
		if (notify && pstree_find(ctx->items, ctx->nr_items, notify)) {
			pr_err("pid %d fd %d: POSIX message queue '%s': pid %d of the tree is registered for its notification (mq_notify); not supported",
			       p->pid, p->fd, p->link, notify);
			return -ENOTSUP;
		}
	}
	e.id = id;
	e.name = (char *)name;
	e.flags = p->flags & (O_ACCMODE | O_NONBLOCK);
	return img_write_pb(dump_img(ctx, IMG_MQUEUE), &e.base);
}

static int mqueue_fd_validate(struct rst_ctx *ctx, struct file_obj *f)
{
	MqueueFileEntry *e = f->msg;

	(void)ctx;
	if (!mq_name_ok(e->name) || (e->flags & ~(O_ACCMODE | O_NONBLOCK)) ||
	    (e->flags & O_ACCMODE) == O_ACCMODE) {
		pr_err("mqueue.img: entry %u has an invalid name or flags 0%o", e->id, e->flags);
		return -EINVAL;
	}
	return 0;
}

static int mqueue_open(struct rst_ctx *ctx, struct file_obj *f)
{
	MqueueFileEntry *e = f->msg;
	char path[MQ_NAME_LEN + 2];
	int fd;

	snprintf(path, sizeof(path), "/%s", e->name);
	fd = mq_open(path, e->flags | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("mqueue '%s': cannot open it", path);
		return -errno;
	}
	f->fd = rst_svc_fd(ctx, fd);
	return f->fd < 0 ? f->fd : 0;
}

const struct fdtype_ops mqueue_fd_ops = {
	.type = FD_TYPES__MQUEUE,
	.name = "mqueue",
	.img = IMG_MQUEUE,
	.desc = &mqueue_file_entry__descriptor,
	.match = mqueue_match,
	.dump = mqueue_dump,
	.validate = mqueue_fd_validate,
	.open = mqueue_open,
};
