/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * AF_UNIX sockets. At dump sock_diag tells each socket's type, state, name,
 * peer, shutdown state and, for a listener, the connections waiting in its
 * backlog; a copy of the descriptor (pidfd_getfd) lets the dumper read the
 * receive queue without consuming it (SO_PEEK_OFF + MSG_PEEK), including the
 * descriptors in flight, which are dumped as files of their own.
 *
 * On restore every socket of the images is rebuilt at once, in phases:
 * create and bind, listen, connect the accepted pairs through their
 * listener, write the queues back from the peer (or from the sender of each
 * datagram), connect datagram sockets, fill the listeners' backlogs, and
 * last shut down, set flags and unlink names whose file was gone.
 */
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <dirent.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/un.h>

#include "fd/files.h"
#include "ns/ns.h"
#include "restore/restore.h"

#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif
#define USK_RCV_SHUTDOWN 1
#define USK_SEND_SHUTDOWN 2
#define USK_STATE_ESTABLISHED 1
#define USK_STATE_CLOSE 7
#define USK_STATE_LISTEN 10
#define USK_NAME_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))
#define USK_MAX_FDS 253		/* SCM_MAX_FD */
#define USK_PEEK_BUF (4u << 20)

/* ---------------------------------------------------------------- dump */

struct usk_diag {
	uint64_t ino;
	uint8_t type, state, shutdown;
	uint32_t peer;
	bool has_vfs;
	uint32_t vfs_ino;
	uint8_t name[USK_NAME_MAX];
	unsigned name_len;
	uint32_t *icons;
	unsigned nr_icons;
	uint32_t rqueue, wqueue;
};

static struct usk_diag *usks;
static unsigned nr_usks;
static int usk_state;			/* 0: not collected, 1: collected, <0: failed */
struct tree_sk {
	uint64_t ino;
	pid_t pid;
	int fd;
};
static struct tree_sk *tree_inos;	/* sockets the dumped tree holds, and where */
static unsigned nr_tree_inos;
struct peer_check {
	pid_t pid;
	int fd;
	uint64_t ino;
	uint64_t peer;
	bool ext_ok;		/* may stay outside: --ext-unix-sk, datagram, named */
};
static struct peer_check *checks;	/* peers not in the tree: must turn up in flight */
static unsigned nr_checks;
static uint64_t *flying;		/* sockets dumped from a queue */
static unsigned nr_flying;
static uint64_t dumping[8];		/* sockets being dumped (in-flight recursion) */
static unsigned nr_dumping;
static char *peek_buf;
static int *taken;			/* connections accepted to read them: kept till the end */
static unsigned nr_taken;

void unix_dump_fini(void)
{
	for (unsigned i = 0; i < nr_usks; i++)
		free(usks[i].icons);
	free(usks);
	usks = NULL;
	nr_usks = 0;
	usk_state = 0;
	free(tree_inos);
	tree_inos = NULL;
	nr_tree_inos = 0;
	nr_dumping = 0;
	free(checks);
	checks = NULL;
	nr_checks = 0;
	free(flying);
	flying = NULL;
	nr_flying = 0;
	free(peek_buf);
	peek_buf = NULL;
	for (unsigned i = 0; i < nr_taken; i++)
		close(taken[i]);
	free(taken);
	taken = NULL;
	nr_taken = 0;
}

/* "unix[INO]", the inode in decimal (CRIU's spelling); nothing else. */
bool unix_ext_key(const char *key, uint64_t *ino)
{
	size_t n;

	if (strncmp(key, "unix[", 5))
		return false;
	key += 5;
	n = strspn(key, "0123456789");
	if (!n || n > 20 || strcmp(key + n, "]"))
		return false;
	errno = 0;
	*ino = strtoull(key, NULL, 10);
	return !errno && *ino;
}

/* Did the caller declare socket ino external (--external unix[INO])? */
static bool unix_declared(const struct crc_dump_opts *o, uint64_t ino)
{
	uint64_t v;

	for (unsigned i = 0; i < o->nr_externals; i++)
		if (o->externals[i] && unix_ext_key(o->externals[i], &v) && v == ino)
			return true;
	return false;
}

static struct usk_diag *usk_find(uint64_t ino)
{
	for (unsigned i = 0; i < nr_usks; i++)
		if (usks[i].ino == ino)
			return &usks[i];
	return NULL;
}

static int usk_parse_one(struct nlmsghdr *h)
{
	struct unix_diag_msg *m = NLMSG_DATA(h);
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	struct rtattr *a;
	struct usk_diag *d;

	if (len < 0)
		return -EINVAL;
	d = xrealloc_array(usks, nr_usks + 1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	usks = d;
	d = &usks[nr_usks++];
	memset(d, 0, sizeof(*d));
	d->ino = m->udiag_ino;
	d->type = m->udiag_type;
	d->state = m->udiag_state;
	for (a = (struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		unsigned plen = RTA_PAYLOAD(a);

		switch (a->rta_type) {
		case UNIX_DIAG_NAME:
			if (plen > USK_NAME_MAX)
				return -EINVAL;
			memcpy(d->name, RTA_DATA(a), plen);
			d->name_len = plen;
			break;
		case UNIX_DIAG_VFS:
			if (plen >= sizeof(struct unix_diag_vfs)) {
				d->has_vfs = true;
				d->vfs_ino = ((struct unix_diag_vfs *)RTA_DATA(a))->udiag_vfs_ino;
			}
			break;
		case UNIX_DIAG_PEER:
			if (plen >= 4)
				d->peer = *(uint32_t *)RTA_DATA(a);
			break;
		case UNIX_DIAG_ICONS:
			d->nr_icons = plen / 4;
			d->icons = malloc(plen + 1);
			if (!d->icons)
				return -ENOMEM;
			memcpy(d->icons, RTA_DATA(a), d->nr_icons * 4);
			break;
		case UNIX_DIAG_RQLEN:
			if (plen >= sizeof(struct unix_diag_rqlen)) {
				d->rqueue = ((struct unix_diag_rqlen *)RTA_DATA(a))->udiag_rqueue;
				d->wqueue = ((struct unix_diag_rqlen *)RTA_DATA(a))->udiag_wqueue;
			}
			break;
		case UNIX_DIAG_SHUTDOWN:
			if (plen >= 1)
				d->shutdown = *(uint8_t *)RTA_DATA(a);
			break;
		}
	}
	return 0;
}

static int usk_collect_diag(bool outer)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = -1,
		       .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER |
				     UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN },
	};
	/* the tree's network namespace; with a container below the root, also
	 * lxc-cr's, where the tasks above it are (outer) */
	_cleanup_close_ int nl = outer ? socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)
				       : ns_net_socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	static char buf[32768];
	int ret;

	if (nl < 0) {
		pr_perror("cannot open a sock_diag socket");
		return -errno;
	}
	if (send(nl, &req, sizeof(req), 0) != sizeof(req)) {
		pr_perror("cannot ask sock_diag for unix sockets");
		return -errno;
	}
	for (;;) {
		ssize_t n = recv(nl, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0) {
			pr_perror("sock_diag: cannot read unix sockets");
			return -errno;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				pr_err("sock_diag: unix socket dump failed: %s", strerror(-e->error));
				return e->error ? e->error : -EIO;
			}
			ret = usk_parse_one(h);
			if (ret < 0) {
				pr_err("sock_diag: bad unix socket record");
				return ret;
			}
		}
	}
}

static int usk_collect_tree(struct dump_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		char path[64], link[64], lp[64 + 256];
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%d/fd", ctx->items[i]->pid);
		d = opendir(path);
		if (!d)
			return -errno;
		while ((de = readdir(d))) {
			unsigned long ino;
			struct tree_sk *n;
			ssize_t l;

			if (de->d_name[0] == '.')
				continue;
			snprintf(lp, sizeof(lp), "%s/%s", path, de->d_name);
			l = readlink(lp, link, sizeof(link) - 1);
			if (l < 0)
				continue;
			link[l] = '\0';
			if (sscanf(link, "socket:[%lu]", &ino) != 1)
				continue;
			n = xrealloc_array(tree_inos, nr_tree_inos + 1, sizeof(*n));
			if (!n) {
				closedir(d);
				return -ENOMEM;
			}
			tree_inos = n;
			tree_inos[nr_tree_inos++] = (struct tree_sk){ ino, ctx->items[i]->pid,
								      atoi(de->d_name) };
		}
		closedir(d);
	}
	return 0;
}

static struct tree_sk *in_tree(uint64_t ino)
{
	for (unsigned i = 0; i < nr_tree_inos; i++)
		if (tree_inos[i].ino == ino)
			return &tree_inos[i];
	return NULL;
}

static bool unix_match(const struct fd_parms *p)
{
	unsigned long ino;

	if (!S_ISSOCK(p->st.st_mode))
		return false;
	if (!usk_state)
		usk_state = usk_collect_diag(false) ?:
			    (ns_dump_has_ct() && ns_dump_own(CLONE_NEWNET) ? usk_collect_diag(true) : 0) ?: 1;
	if (usk_state < 0)
		return false;
	if (sscanf(p->link, "socket:[%lu]", &ino) != 1)
		return false;
	return usk_find(ino) != NULL;
}

static int copy_fd(pid_t pid, int tfd)
{
	int pfd, fd;

	if (pid == getpid())
		return fcntl(tfd, F_DUPFD_CLOEXEC, 0);
	pfd = syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0) {
		pr_perror("pid %d: pidfd_open", pid);
		return -errno;
	}
	fd = syscall(SYS_pidfd_getfd, pfd, tfd, 0);
	if (fd < 0)
		pr_perror("pid %d fd %d: cannot copy the socket (pidfd_getfd)", pid, tfd);
	close(pfd);
	return fd < 0 ? -errno : fd;
}

static int local_copy(struct fd_parms *p)
{
	return copy_fd(p->pid, p->fd);
}

static int add_packet(UnixSkEntry *e, size_t len, const void *addr, size_t alen)
{
	SkPacketEntry **q, *pk;

	q = xrealloc_array(e->queue, e->n_queue + 1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	e->queue = q;
	pk = xzalloc(sizeof(*pk));
	if (!pk)
		return -ENOMEM;
	sk_packet_entry__init(pk);
	e->queue[e->n_queue++] = pk;
	pk->length = len;
	if (alen) {
		pk->has_addr = true;
		pk->addr.data = malloc(alen);
		if (!pk->addr.data)
			return -ENOMEM;
		memcpy(pk->addr.data, addr, alen);
		pk->addr.len = alen;
	}
	return 0;
}

static void free_queue(UnixSkEntry *e)
{
	for (size_t i = 0; i < e->n_queue; i++) {
		free(e->queue[i]->addr.data);
		free(e->queue[i]->fd_types);
		free(e->queue[i]->fd_ids);
		free(e->queue[i]);
	}
	free(e->queue);
	e->queue = NULL;
	e->n_queue = 0;
}

/* The descriptors of an SCM_RIGHTS message; -1 on a truncated or odd one. */
static int cmsg_fds(struct msghdr *mh, int *fds)
{
	struct cmsghdr *cm;
	int n = 0;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		int k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n + k > USK_MAX_FDS)
			return -1;
		memcpy(fds + n, CMSG_DATA(cm), k * sizeof(int));
		n += k;
	}
	return n;
}

static ssize_t peek_at(int sk, int off, void *buf, size_t len, struct sockaddr_un *sun,
		       socklen_t *sl, int *fds, int *nfds, int *mflags)
{
	char cbuf[CMSG_SPACE(sizeof(int) * USK_MAX_FDS)];
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_name = sun, .msg_namelen = sun ? sizeof(*sun) : 0,
			     .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t r;

	if (off >= 0 && setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0)
		return -errno;
	r = recvmsg(sk, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (r < 0)
		return -errno;
	*nfds = cmsg_fds(&mh, fds);
	*mflags = mh.msg_flags;
	if (sl)
		*sl = mh.msg_namelen;
	return r;
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static ssize_t recv_fds(int sk, void *buf, size_t len, int *fds, int *nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * USK_MAX_FDS)];
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t r = recvmsg(sk, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	*nfds = 0;
	if (r < 0)
		return -errno;
	*nfds = cmsg_fds(&mh, fds);
	return r;
}

static int recv_exact(int sk, char *buf, size_t len)
{
	int fds[USK_MAX_FDS], nfds;

	while (len) {
		ssize_t r = recv_fds(sk, buf, len, fds, &nfds);

		if (nfds > 0)
			close_fds(fds, nfds);
		if (r <= 0 || nfds)
			return r < 0 ? r : -EIO;
		buf += r;
		len -= r;
	}
	return 0;
}

/*
 * A stream peek runs on through message boundaries up to the end of the
 * first message carrying descriptors, so where that message starts (which
 * a later read() depends on: the first read touching it takes the
 * descriptors) cannot be seen without reading. Read the queue for real, a
 * byte at a time in front of each such message, and queue it all back from
 * the peer, with the same boundaries.
 */
static int split_stream_fds(struct dump_ctx *ctx, struct fd_parms *p, int sk, UnixSkEntry *e,
			    struct usk_diag *d)
{
	struct tree_sk *w = d->peer ? in_tree(d->peer) : NULL;
	_cleanup_close_ int wfd = -1;
	_cleanup_free_ char *buf = NULL;
	SkPacketEntry **q = NULL;
	size_t nq = 0, pos = 0;
	int *real = NULL, ret = 0, nreal = 0, ri = 0;

	if (!w || (d->shutdown & USK_RCV_SHUTDOWN)) {
		pr_err("pid %d fd %d: descriptors in flight behind other data in a unix stream socket whose peer cannot write again are not supported",
		       p->pid, p->fd);
		return -ENOTSUP;
	}
	wfd = copy_fd(w->pid, w->fd);
	if (wfd < 0)
		return wfd;
	buf = malloc(e->queue_len + 1);
	q = calloc(2 * e->n_queue + 1, sizeof(*q));
	real = calloc(USK_MAX_FDS * e->n_queue + 1, sizeof(int));
	if (!buf || !q || !real) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < e->n_queue && !ret; i++) {
		SkPacketEntry *pk = e->queue[i];
		size_t got = 0;
		int nfds = 0;

		if (!pk->n_fd_ids) {
			ret = recv_exact(sk, buf + pos, pk->length);
			q[nq++] = pk;
			pos += pk->length;
			continue;
		}
		while (got < pk->length && !nfds) {
			ssize_t r = recv_fds(sk, buf + pos + got, 1, real + nreal, &nfds);

			if (r != 1) {
				ret = r < 0 ? r : -EIO;
				break;
			}
			got++;
			nreal += nfds;
		}
		if (ret)
			break;
		if (nfds != (int)pk->n_fd_ids) {
			ret = -EIO;
			break;
		}
		ret = recv_exact(sk, buf + pos + got, pk->length - got);
		if (got > 1) {
			SkPacketEntry *pre = xzalloc(sizeof(*pre));

			if (!pre) {
				ret = -ENOMEM;
				break;
			}
			sk_packet_entry__init(pre);
			pre->length = got - 1;
			pk->length -= got - 1;
			q[nq++] = pre;
		}
		q[nq++] = pk;
		pos += got - 1 + pk->length;
	}
	if (ret) {
		pr_err("pid %d fd %d: cannot read the unix socket's queue to find its message boundaries (%s); %zu bytes of it are lost",
		       p->pid, p->fd, strerror(-ret), pos);
		goto out;
	}
	/* put it all back, in the same pieces */
	pos = 0;
	for (size_t i = 0; i < nq && !ret; i++) {
		char cbuf[CMSG_SPACE(sizeof(int) * USK_MAX_FDS)];
		struct iovec iov = { buf + pos, q[i]->length };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (q[i]->n_fd_ids) {
			struct cmsghdr *cm;

			memset(cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * q[i]->n_fd_ids);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * q[i]->n_fd_ids);
			memcpy(CMSG_DATA(cm), real + ri, sizeof(int) * q[i]->n_fd_ids);
			ri += q[i]->n_fd_ids;
		}
		if (sendmsg(wfd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)q[i]->length) {
			pr_perror("pid %d fd %d: cannot put the unix socket's queue back (%zu bytes are lost)",
				  p->pid, p->fd, (size_t)e->queue_len - pos);
			ret = -EIO;
		}
		pos += q[i]->length;
	}
	if (!ret) {
		free(e->queue);
		e->queue = TAKE_PTR(q);
		e->n_queue = nq;
	}
out:
	if (q) {
		/* on failure only the pieces made here are not in e->queue */
		for (size_t i = 0; i < nq; i++) {
			bool mine = true;

			for (size_t j = 0; j < e->n_queue; j++)
				if (e->queue[j] == q[i])
					mine = false;
			if (mine)
				free(q[i]);
		}
		free(q);
	}
	if (real) {
		close_fds(real, nreal);
		free(real);
	}
	return ret;
}

static int packet_fds(struct dump_ctx *ctx, struct fd_parms *p, SkPacketEntry *pk, int *fds, int nfds)
{
	int ret = 0, i;

	pk->fd_types = calloc(nfds, sizeof(uint32_t));
	pk->fd_ids = calloc(nfds, sizeof(uint32_t));
	if (!pk->fd_types || !pk->fd_ids) {
		close_fds(fds, nfds);
		return -ENOMEM;
	}
	for (i = 0; i < nfds; i++) {
		struct stat st;

		if (fstat(fds[i], &st) == 0 && S_ISSOCK(st.st_mode)) {
			for (unsigned k = 0; k < nr_dumping; k++)
				if (dumping[k] == st.st_ino)
					ret = -ENOTSUP;
			if (ret) {
				pr_err("pid %d fd %d: a unix socket carrying itself in its queue is not supported",
				       p->pid, p->fd);
				break;
			}
		}
		/* dump_local_file takes the descriptor over, even when it fails */
		ret = dump_local_file(ctx, p->item, fds[i], &pk->fd_types[i], &pk->fd_ids[i]);
		if (ret) {
			i++;
			break;
		}
	}
	if (i < nfds)
		close_fds(fds + i, nfds - i);
	pk->n_fd_types = pk->n_fd_ids = i;
	return ret;
}

/* Copy the receive queue of sk into sk-queue-ID.img and e->queue. */
static int dump_queue(struct dump_ctx *ctx, struct fd_parms *p, int sk, UnixSkEntry *e,
		      struct usk_diag *d)
{
	bool stream = d->type == SOCK_STREAM, had_fds = false;
	int old_off = -1, pos = 0, ret = 0;
	socklen_t ol = sizeof(old_off);
	struct cr_img *img = NULL;
	uint64_t total = 0;

	if (!peek_buf && !(peek_buf = malloc(USK_PEEK_BUF)))
		return -ENOMEM;
	if (getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old_off, &ol) < 0)
		old_off = -1;
	for (;;) {
		int fds[USK_MAX_FDS], nfds = 0, fl = 0;
		struct sockaddr_un sun;
		socklen_t sl = 0;
		ssize_t r = peek_at(sk, pos, peek_buf, USK_PEEK_BUF, stream ? NULL : &sun, &sl,
				    fds, &nfds, &fl);
		size_t alen = 0;

		if (r == -EAGAIN)
			break;
		if (r < 0) {
			pr_err("pid %d fd %d: cannot read the socket's queue: %s", p->pid, p->fd,
			       strerror(-r));
			ret = r;
			break;
		}
		if (nfds < 0 || (fl & MSG_CTRUNC) || (!stream && (fl & MSG_TRUNC))) {
			pr_err("pid %d fd %d: a message in the unix socket's queue is not supported (too large or too many descriptors)",
			       p->pid, p->fd);
			if (nfds > 0)
				close_fds(fds, nfds);
			ret = -ENOTSUP;
			break;
		}
		if (stream && r == 0)
			break;
		if (!stream && r == 0 && !nfds && sl <= sizeof(sa_family_t) &&
		    (d->shutdown & USK_RCV_SHUTDOWN))
			break;	/* end of queue of a shut down socket reads as empty */
		if (!img) {
			img = img_open(&ctx->dir, IMG_SK_QUEUES, e->id, true);
			if (!img) {
				if (nfds > 0)
					close_fds(fds, nfds);
				ret = -EIO;
				break;
			}
		}
		ret = img_write_raw(img, peek_buf, r);
		if (!ret && !stream && sl > sizeof(sa_family_t))
			alen = sl - offsetof(struct sockaddr_un, sun_path);
		if (nfds > 0)
			had_fds = true;
		if (!ret)
			ret = add_packet(e, r, sun.sun_path, alen);
		if (!ret && nfds > 0)
			ret = packet_fds(ctx, p, e->queue[e->n_queue - 1], fds, nfds);
		else if (nfds > 0)
			close_fds(fds, nfds);
		if (ret)
			break;
		pos += r;
		total += r;
		if (!stream)
			pos = -1;	/* the kernel moves the offset on by itself */
	}
	e->has_queue_len = true;
	e->queue_len = total;
	if (!ret && stream && had_fds && (e->n_queue > 1 || e->queue[0]->length > 1)) {
		if (ctx->opts->leave_running)
			pr_warn("pid %d fd %d: the unix socket's queue is read and written back to find its message boundaries",
				p->pid, p->fd);
		ret = split_stream_fds(ctx, p, sk, e, d);
	}
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old_off, sizeof(old_off)) < 0 && !ret) {
		pr_perror("pid %d fd %d: cannot put SO_PEEK_OFF back", p->pid, p->fd);
		ret = -errno;
	}
	if (img && img_close(img) && !ret)
		ret = -EIO;
	return ret;
}

/* Where a path name lives, and whether its file is still the socket's. */
static int dump_name(struct fd_parms *p, struct usk_diag *d, UnixSkEntry *e, char *dir)
{
	char path[PATH_MAX + 160];
	struct stat st;
	ssize_t n;

	e->has_name = true;
	e->name.data = d->name;
	e->name.len = d->name_len;
	if (!d->name_len || d->name[0] == '\0')
		return 0;	/* abstract */
	if (d->name[0] != '/') {
		snprintf(path, sizeof(path), "/proc/%d/cwd", p->pid);
		n = readlink(path, dir, PATH_MAX - 1);
		if (n < 0) {
			pr_perror("pid %d: cannot read its cwd", p->pid);
			return -errno;
		}
		dir[n] = '\0';
		e->name_dir = dir;
		snprintf(path, sizeof(path), "/proc/%d/cwd/%.*s", p->pid, (int)d->name_len, d->name);
	} else {
		snprintf(path, sizeof(path), "/proc/%d/root%.*s", p->pid, (int)d->name_len, d->name);
	}
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) || !d->has_vfs || st.st_ino != d->vfs_ino) {
		if (d->name[0] != '/')
			pr_warn("pid %d fd %d: the file of socket name %.*s is not in the cwd; it is bound there and removed on restore",
				p->pid, p->fd, (int)d->name_len, d->name);
		e->has_name_gone = true;
		e->name_gone = true;
		return 0;
	}
	e->has_node_mode = e->has_node_uid = e->has_node_gid = true;
	e->node_mode = st.st_mode & 07777;
	e->node_uid = st.st_uid;
	e->node_gid = st.st_gid;
	return 0;
}

static void fill_entry(UnixSkEntry *e, struct usk_diag *d, uint32_t id)
{
	e->id = id;
	e->ino = d->ino;
	e->type = d->type;
	e->state = d->state;
	e->has_peer = true;
	e->peer = d->peer;
	e->has_shutdown = true;
	e->shutdown = d->shutdown;
}

/* The diag record of the not yet accepted socket client ino connected to. */
static struct usk_diag *embryo_of(uint64_t client)
{
	for (unsigned i = 0; i < nr_usks; i++)
		if (!usks[i].ino && usks[i].peer == client)
			return &usks[i];
	return NULL;
}

/*
 * The connections waiting in listener d's backlog, each a record of its own.
 * sock_diag lists them by their clients' inodes (a socket not accepted yet
 * has no inode of its own), in backlog order.
 */
static int dump_embryos(struct dump_ctx *ctx, struct fd_parms *p, int lsk, struct usk_diag *d,
			const char *dir)
{
	bool data = false;
	int ret = 0;
	int *acc;

	for (unsigned i = 0; i < d->nr_icons; i++) {
		struct usk_diag *c = embryo_of(d->icons[i]);

		if (!d->icons[i]) {
			pr_err("pid %d fd %d: a connection in the unix socket's backlog has lost its client",
			       p->pid, p->fd);
			return -ENOTSUP;
		}
		if (!c || c->rqueue)
			data = true;
	}
	if (data && ctx->opts->leave_running) {
		pr_err("pid %d fd %d: a connection with data waiting in a unix socket's backlog is not supported with --leave-running (reading it means accepting it)",
		       p->pid, p->fd);
		return -ENOTSUP;
	}
	acc = calloc(d->nr_icons + 1, sizeof(int));
	if (!acc)
		return -ENOMEM;
	for (unsigned i = 0; i < d->nr_icons; i++)
		acc[i] = -1;
	/* Only accepting gives a descriptor to read a waiting connection's queue with. */
	for (unsigned i = 0; data && i < d->nr_icons; i++) {
		acc[i] = accept4(lsk, NULL, NULL, SOCK_CLOEXEC);
		if (acc[i] < 0) {
			pr_perror("pid %d fd %d: cannot take a waiting connection to read its queue",
				  p->pid, p->fd);
			ret = -errno;
			goto out;
		}
	}
	for (unsigned i = 0; i < d->nr_icons; i++) {
		UnixSkEntry e = UNIX_SK_ENTRY__INIT;
		struct usk_diag ed = { .type = d->type, .state = USK_STATE_ESTABLISHED,
				       .peer = d->icons[i] };

		fill_entry(&e, &ed, file_new_id());
		e.has_name = true;
		e.name.data = d->name;
		e.name.len = d->name_len;
		e.name_dir = (char *)dir;
		e.has_listener = true;
		e.listener = d->ino;
		if (acc[i] >= 0) {
			struct ucred uc;
			socklen_t l = sizeof(uc);

			if (getsockopt(acc[i], SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0 && uc.pid > 0 &&
			    ns_vpid(uc.pid) > 0) {
				e.has_cred_pid = true;
				e.cred_pid = ns_vpid(uc.pid);
			}
			ret = dump_queue(ctx, p, acc[i], &e, &ed);
		}
		if (!ret)
			ret = img_write_pb(dump_img(ctx, IMG_UNIXSK), &e.base);
		free_queue(&e);
		if (ret)
			break;
	}
out:
	/* closing them would reset their clients, which are dumped later */
	for (unsigned i = 0; i < d->nr_icons; i++) {
		int *n;

		if (acc[i] < 0)
			continue;
		n = xrealloc_array(taken, nr_taken + 1, sizeof(*n));
		if (!n) {
			close(acc[i]);
			ret = ret ?: -ENOMEM;
			continue;
		}
		taken = n;
		taken[nr_taken++] = acc[i];
	}
	free(acc);
	return ret;
}

static int unix_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	UnixSkEntry e = UNIX_SK_ENTRY__INIT;
	_cleanup_close_ int sk = -1;
	struct usk_diag *d, *pd;
	static char dir[PATH_MAX];
	unsigned long ino;
	socklen_t l;
	int ret, v;

	if (sscanf(p->link, "socket:[%lu]", &ino) != 1 || !(d = usk_find(ino)))
		return -EINVAL;
	if (!nr_tree_inos && (ret = usk_collect_tree(ctx)) < 0) {
		pr_err("cannot list the sockets of the tree: %s", strerror(-ret));
		return ret;
	}
	if (d->type != SOCK_STREAM && d->type != SOCK_DGRAM && d->type != SOCK_SEQPACKET) {
		pr_err("pid %d fd %d: unix socket of type %u is not supported", p->pid, p->fd, d->type);
		return -ENOTSUP;
	}
	if (p->pid == getpid()) {
		uint64_t *n = xrealloc_array(flying, nr_flying + 1, sizeof(*n));

		if (!n)
			return -ENOMEM;
		flying = n;
		flying[nr_flying++] = d->ino;
	}
	if (d->peer && !in_tree(d->peer) && d->type != SOCK_DGRAM &&
	    d->state == USK_STATE_ESTABLISHED && unix_declared(ctx->opts, d->ino)) {
		/*
		 * Declared external (libvirtd's connection to its controller):
		 * restored as a connection whose peer is gone; what is queued
		 * stays readable, then end of file.
		 */
		pr_info("pid %d fd %d: unix socket %llu is connected to socket %llu outside the tree; declared external: restored disconnected",
			p->pid, p->fd, (unsigned long long)d->ino, (unsigned long long)d->peer);
		e.has_ext_peer_ino = true;
		e.ext_peer_ino = d->peer;
	} else if (d->peer && !in_tree(d->peer)) {
		/* maybe in flight in a queue dumped later: checked at the end */
		struct peer_check *n = xrealloc_array(checks, nr_checks + 1, sizeof(*n));

		if (!n)
			return -ENOMEM;
		checks = n;
		checks[nr_checks++] = (struct peer_check){ p->pid, p->fd, d->ino, d->peer, false };
		pd = usk_find(d->peer);
		if (ctx->opts->ext_unix_sk && d->type == SOCK_DGRAM && pd && pd->name_len &&
		    (pd->name[0] == '\0' || pd->name[0] == '/')) {
			checks[nr_checks - 1].ext_ok = true;
			e.has_ext_peer = true;
			e.ext_peer.data = pd->name;
			e.ext_peer.len = pd->name_len;
		}
	}
	if (nr_dumping >= ARRAY_SIZE(dumping)) {
		pr_err("pid %d fd %d: unix sockets nested in each other's queues too deep", p->pid, p->fd);
		return -ENOTSUP;
	}
	sk = local_copy(p);
	if (sk < 0)
		return sk;
	fill_entry(&e, d, id);
	if (e.has_ext_peer_ino)
		e.peer = 0;
	e.flags = p->flags;
	dir[0] = '\0';
	if (d->name_len && (ret = dump_name(p, d, &e, dir)) < 0)
		return ret;
	l = sizeof(v);
	if (getsockopt(sk, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0) {
		e.has_sndbuf = true;
		e.sndbuf = v;
	}
	l = sizeof(v);
	if (getsockopt(sk, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0) {
		e.has_rcvbuf = true;
		e.rcvbuf = v;
	}
	if ((d->type != SOCK_DGRAM || d->peer) && !e.has_ext_peer_ino) {
		struct ucred uc;

		l = sizeof(uc);
		/* the pid as the tree sees it: its PID namespace's number */
		if (getsockopt(sk, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0 && uc.pid > 0 &&
		    ns_vpid(uc.pid) > 0) {
			e.has_cred_pid = true;
			e.cred_pid = ns_vpid(uc.pid);
		}
	}
	l = sizeof(v);
	if (getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &v, &l) == 0 && v >= 0) {
		e.has_peek_off = true;
		e.peek_off = v + 1;
	}
	dumping[nr_dumping++] = d->ino;
	if (d->state == USK_STATE_LISTEN) {
		e.has_backlog = true;
		e.backlog = d->wqueue;
		ret = dump_embryos(ctx, p, sk, d, dir);
	} else {
		ret = dump_queue(ctx, p, sk, &e, d);
	}
	nr_dumping--;
	if (!ret)
		ret = img_write_pb(dump_img(ctx, IMG_UNIXSK), &e.base);
	free_queue(&e);
	return ret;
}

int unix_dump_finish(void)
{
	for (unsigned i = 0; i < nr_checks; i++) {
		bool found = false;

		for (unsigned j = 0; j < nr_flying && !found; j++)
			found = flying[j] == checks[i].peer;
		if (found)
			continue;
		if (checks[i].ext_ok) {
			pr_info("pid %d fd %d: unix socket connected to socket %llu outside the tree: reconnected by name on restore",
				checks[i].pid, checks[i].fd, (unsigned long long)checks[i].peer);
			continue;
		}
		pr_err("pid %d fd %d: unix socket %llu is connected to socket %llu outside the dumped tree; declare it with --external unix[%llu] to restore it disconnected (a stream or seqpacket connection), or use --ext-unix-sk for a named datagram peer",
		       checks[i].pid, checks[i].fd, (unsigned long long)checks[i].ino,
		       (unsigned long long)checks[i].peer, (unsigned long long)checks[i].ino);
		return -ENOTSUP;
	}
	return 0;
}

/* ---------------------------------------------------------------- restore */

static bool usk_path_name(const UnixSkEntry *e)
{
	return e->has_name && e->name.len && e->name.data[0] != '\0';
}

static bool usk_rel_name(const UnixSkEntry *e)
{
	return usk_path_name(e) && e->name.data[0] != '/';
}

static int unix_validate(struct rst_ctx *ctx, struct file_obj *f)
{
	UnixSkEntry *e = f->msg;
	uint64_t sum = 0;

	(void)ctx;
	if (e->type != SOCK_STREAM && e->type != SOCK_DGRAM && e->type != SOCK_SEQPACKET) {
		pr_err("image unixsk.img: socket %u has type %u", e->id, e->type);
		return -EINVAL;
	}
	if (e->has_name && e->name.len > USK_NAME_MAX) {
		pr_err("image unixsk.img: socket %u has a %zu-byte name", e->id, e->name.len);
		return -EINVAL;
	}
	if (e->has_ext_peer && (!e->ext_peer.len || e->ext_peer.len > USK_NAME_MAX ||
				 (e->ext_peer.data[0] != '\0' && e->ext_peer.data[0] != '/'))) {
		pr_err("image unixsk.img: socket %u: bad name of its outside peer", e->id);
		return -EINVAL;
	}
	if (e->has_ext_peer_ino && (e->peer || e->type == SOCK_DGRAM ||
				    e->state != USK_STATE_ESTABLISHED || e->has_listener)) {
		pr_err("image unixsk.img: socket %u: an outside peer only fits a connected stream or seqpacket socket",
		       e->id);
		return -EINVAL;
	}
	if (usk_rel_name(e) && (!e->name_dir || e->name_dir[0] != '/')) {
		pr_err("image unixsk.img: socket %u has a relative name and no directory", e->id);
		return -EINVAL;
	}
	if (e->state == USK_STATE_LISTEN && e->type == SOCK_DGRAM) {
		pr_err("image unixsk.img: socket %u is a listening datagram socket", e->id);
		return -EINVAL;
	}
	for (size_t i = 0; i < e->n_queue; i++) {
		SkPacketEntry *pk = e->queue[i];

		if (pk->n_fd_types != pk->n_fd_ids || pk->n_fd_ids > USK_MAX_FDS ||
		    (pk->has_addr && pk->addr.len > USK_NAME_MAX) ||
		    (pk->n_fd_ids && !pk->length && e->type == SOCK_STREAM)) {
			pr_err("image unixsk.img: socket %u: message %zu in its queue is malformed", e->id, i);
			return -EINVAL;
		}
		sum += pk->length;
	}
	if (sum != (e->has_queue_len ? e->queue_len : 0)) {
		pr_err("image unixsk.img: socket %u: its queue adds up to %llu bytes, not %u", e->id,
		       (unsigned long long)sum, e->queue_len);
		return -EINVAL;
	}
	return 0;
}

/* Restore-time state of one socket. */
struct usk_rst {
	int fd;			/* -1 until created */
	int partner;		/* other end of a socketpair whose peer is gone */
	bool accepted;		/* created by accept() on its listener */
	bool pair;		/* made with socketpair() together with its peer */
};

struct usk_node {
	dev_t dev;
	ino_t ino;
};

struct usk_set {
	struct rst_ctx *ctx;
	struct file_obj **objs;
	unsigned n;
	int cwd;
	struct usk_node *bound;	/* socket files bound by this restore */
	unsigned nr_bound;
	struct usk_call *call;	/* shared with the helpers of as_pid() */
};

/*
 * SO_PEERCRED keeps the pid of whoever made a socketpair, called listen()
 * or connect(). To give it back, that call is made by a short-lived helper
 * that has the pid (clone3 set_tid) and shares our descriptor table. The
 * pid is free: the tree is forked only later.
 */
enum usk_call_op { CALL_SOCKETPAIR, CALL_LISTEN, CALL_CONNECT };

struct usk_call {
	enum usk_call_op op;
	int type, fd, backlog;
	struct sockaddr_un sun;
	socklen_t len;
	int sv[2];
	int err;
};

static int do_call(struct usk_call *c)
{
	int r;

	switch (c->op) {
	case CALL_SOCKETPAIR:
		r = socketpair(AF_UNIX, c->type | SOCK_CLOEXEC, 0, c->sv);
		break;
	case CALL_LISTEN:
		r = listen(c->fd, c->backlog);
		break;
	default:
		r = connect(c->fd, (void *)&c->sun, c->len);
		break;
	}
	c->err = r < 0 ? errno : 0;
	return r < 0 ? -c->err : 0;
}

static int as_pid(struct usk_call *c, uint32_t pid)
{
	struct clone_args ca = { .flags = CLONE_FILES, .exit_signal = SIGCHLD };
	pid_t want = pid, child;
	int st;

	if (!pid || (pid_t)pid == getpid())
		return do_call(c);
	ca.set_tid = (uint64_t)(uintptr_t)&want;
	ca.set_tid_size = 1;
	c->err = EINTR;
	child = syscall(SYS_clone3, &ca, sizeof(ca));
	if (child < 0) {
		pr_debug("unix sockets: pid %u is taken (%s); SO_PEERCRED will name the restorer",
			 pid, strerror(errno));
		return do_call(c);
	}
	if (child == 0)
		_exit(do_call(c) < 0);
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return c->err ? -c->err : 0;
}

static struct usk_rst *R(struct file_obj *f)
{
	return f->priv;
}

static UnixSkEntry *E(struct file_obj *f)
{
	return f->msg;
}

static struct file_obj *usk_by_ino(struct usk_set *s, uint64_t ino)
{
	for (unsigned i = 0; i < s->n; i++)
		if (E(s->objs[i])->ino == ino)
			return s->objs[i];
	return NULL;
}

static bool same_name(const UnixSkEntry *a, const UnixSkEntry *b)
{
	if (!a->has_name || !b->has_name || !a->name.len || a->name.len != b->name.len ||
	    memcmp(a->name.data, b->name.data, a->name.len))
		return false;
	return !usk_rel_name(a) || !strcmp(a->name_dir, b->name_dir);
}

static struct file_obj *usk_listener(struct usk_set *s, const UnixSkEntry *e)
{
	for (unsigned i = 0; i < s->n; i++) {
		UnixSkEntry *l = E(s->objs[i]);

		if (l->state == USK_STATE_LISTEN && !l->has_listener && same_name(l, e))
			return s->objs[i];
	}
	return NULL;
}

static socklen_t mkaddr(struct sockaddr_un *sun, const uint8_t *name, size_t len)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, name, len);
	return offsetof(struct sockaddr_un, sun_path) + len;
}

enum { OP_BIND, OP_CONNECT };

/* A socket file this restore bound (it may be bound again, or replaced). */
static void remember_name(struct usk_set *s, const char *path)
{
	struct stat st;
	struct usk_node *n;

	if (lstat(path, &st) < 0)
		return;
	n = xrealloc_array(s->bound, s->nr_bound + 1, sizeof(*n));
	if (!n)
		return;	/* only a later bind over it is refused */
	s->bound = n;
	s->bound[s->nr_bound++] = (struct usk_node){ st.st_dev, st.st_ino };
}

/*
 * Before binding a path name: a socket file left there by the socket that
 * was dumped (a killed tree does not unlink it; libvirt leaves NAME.sock
 * behind when a domain stops) is stale when nobody listens on it: connect()
 * is refused. It is unlinked. A file that is not a socket, or a socket in
 * use, is someone else's: the restore fails naming the path.
 */
static int clear_name(struct usk_set *s, const UnixSkEntry *e, const struct sockaddr_un *sun,
		      socklen_t l)
{
	const char *path = sun->sun_path;
	_cleanup_close_ int probe = -1;
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("unix socket %u: cannot bind to %s: a file that is not a socket is there",
		       e->id, path);
		return -EADDRINUSE;
	}
	for (unsigned i = 0; i < s->nr_bound; i++)
		if (s->bound[i].dev == st.st_dev && s->bound[i].ino == st.st_ino)
			goto stale;	/* ours, from this restore */
	probe = socket(AF_UNIX, e->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (probe < 0) {
		pr_perror("unix socket %u: cannot create a socket to probe %s", e->id, path);
		return -errno;
	}
	if (connect(probe, (const void *)sun, l) == 0 || errno == EAGAIN || errno == EINPROGRESS ||
	    errno == EPROTOTYPE) {
		pr_err("unix socket %u: cannot bind to %s: another socket is bound there and in use (connect() %s)",
		       e->id, path, errno == EPROTOTYPE ? "finds a socket of another type" : "is accepted");
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED) {
		pr_perror("unix socket %u: cannot bind to %s: probing the socket file there failed",
			  e->id, path);
		return -errno;
	}
	pr_info("unix socket %u: %s is a stale socket file (connect() is refused); removed before bind",
		e->id, path);
stale:
	if (unlink(path) < 0 && errno != ENOENT) {
		pr_perror("unix socket %u: cannot remove the socket file %s", e->id, path);
		return -errno;
	}
	return 0;
}

/* bind or connect fd to e's name, in its directory for a relative one. */
static int name_op_as(struct usk_set *s, int op, int fd, const UnixSkEntry *e, uint32_t pid)
{
	struct sockaddr_un sun;
	socklen_t l = mkaddr(&sun, e->name.data, e->name.len);
	int ret;

	if (usk_rel_name(e) && chdir(e->name_dir) < 0) {
		pr_perror("unix socket %u: cannot enter %s", e->id, e->name_dir);
		return -errno;
	}
	if (op == OP_BIND && usk_path_name(e)) {
		ret = clear_name(s, e, &sun, l);
		if (ret < 0)
			goto out;
	}
	if (op == OP_BIND) {
		ret = bind(fd, (void *)&sun, l) < 0 ? -errno : 0;
		if (!ret && usk_path_name(e))
			remember_name(s, sun.sun_path);
	} else {
		s->call->op = CALL_CONNECT;
		s->call->fd = fd;
		s->call->sun = sun;
		s->call->len = l;
		ret = as_pid(s->call, pid);
	}
	if (ret < 0) {
		errno = -ret;
		pr_perror("unix socket %u: cannot %s %s%.*s", e->id, op == OP_BIND ? "bind to" : "connect to",
			  usk_path_name(e) ? "" : "@", (int)e->name.len - !usk_path_name(e),
			  (const char *)e->name.data + !usk_path_name(e));
	}
	if (!ret && op == OP_BIND && usk_path_name(e) && e->has_node_mode) {
		if (chmod(sun.sun_path, e->node_mode) < 0 ||
		    lchown(sun.sun_path, e->node_uid, e->node_gid) < 0)
			pr_warn("unix socket %u: cannot set the mode and owner of its file", e->id);
	}
out:
	if (usk_rel_name(e) && fchdir(s->cwd) < 0 && !ret)
		ret = -errno;
	return ret;
}

static int name_op(struct usk_set *s, int op, int fd, const UnixSkEntry *e)
{
	return name_op_as(s, op, fd, e, 0);
}

static int new_sock(const UnixSkEntry *e)
{
	int fd = socket(AF_UNIX, e->type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		pr_perror("unix socket %u: cannot create", e->id);
	return fd < 0 ? -errno : fd;
}

static void set_bufs(int fd, const UnixSkEntry *e)
{
	int v;

	if (e->has_sndbuf) {
		v = e->sndbuf / 2;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	}
	if (e->has_rcvbuf) {
		v = e->rcvbuf / 2;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	}
}

/* Is f the accepted end of its connection (it carries its listener's name)? */
static bool is_accepted(struct usk_set *s, struct file_obj *f, struct file_obj *peer)
{
	UnixSkEntry *e = E(f), *pe = E(peer);

	if (!e->has_name || !e->name.len || e->state == USK_STATE_LISTEN)
		return false;
	if (usk_listener(s, e))
		return true;
	if (pe->has_name && pe->name.len && usk_listener(s, pe))
		return false;
	return !(pe->has_name && pe->name.len) || e->ino > pe->ino;
}

static int make_pair(struct usk_set *s, const UnixSkEntry *e, int sv[2])
{
	int ret;

	s->call->op = CALL_SOCKETPAIR;
	s->call->type = e->type;
	ret = as_pid(s->call, e->has_cred_pid ? e->cred_pid : 0);
	if (ret < 0) {
		pr_err("unix socket %u: socketpair: %s", e->id, strerror(-ret));
		return ret;
	}
	sv[0] = s->call->sv[0];
	sv[1] = s->call->sv[1];
	return 0;
}

/* Does f wait for its connection to be accepted? */
static bool pending_client(struct usk_set *s, struct file_obj *f)
{
	for (unsigned i = 0; i < s->n; i++)
		if (E(s->objs[i])->has_listener && E(s->objs[i])->peer == E(f)->ino)
			return true;
	return false;
}

/* Phase 1: create every socket that is not made by accept(), bind names. */
static int create_one(struct usk_set *s, struct file_obj *f)
{
	UnixSkEntry *e = E(f);
	struct file_obj *pf = e->peer ? usk_by_ino(s, e->peer) : NULL;
	int sv[2], ret;

	if (R(f)->fd >= 0 || e->has_listener)
		return 0;
	if (e->peer && !pf && !e->has_ext_peer) {
		pr_err("unix socket %u: its peer, socket %llu, is not in the images", e->id,
		       (unsigned long long)e->peer);
		return -EINVAL;
	}
	if (e->state == USK_STATE_ESTABLISHED && e->type != SOCK_DGRAM && pf && !E(pf)->has_listener) {
		if (E(pf)->peer != e->ino) {
			pr_err("unix socket %u: its peer %llu is connected elsewhere", e->id,
			       (unsigned long long)e->peer);
			return -EINVAL;
		}
		if (is_accepted(s, f, pf)) {
			R(f)->accepted = true;
			return 0;
		}
		if (!is_accepted(s, pf, f)) {
			if ((ret = make_pair(s, e, sv)) < 0)
				return ret;
			R(f)->fd = sv[0];
			R(pf)->fd = sv[1];
			R(f)->pair = R(pf)->pair = true;
			set_bufs(sv[0], e);
			set_bufs(sv[1], E(pf));
			return 0;
		}
	} else if (e->state == USK_STATE_ESTABLISHED && e->type != SOCK_DGRAM && !pf &&
		   !pending_client(s, f)) {
		/*
		 * Connected once, its peer is gone (or was outside the tree and
		 * declared external): a connection whose other end goes at the
		 * end; through the listener if it was accepted.
		 */
		if (e->has_ext_peer_ino)
			pr_info("unix socket %u: its peer, socket %llu, was outside the tree: restored disconnected",
				e->id, (unsigned long long)e->ext_peer_ino);
		if (e->has_name && e->name.len) {
			R(f)->accepted = true;
			return 0;
		}
		if ((ret = make_pair(s, e, sv)) < 0)
			return ret;
		R(f)->fd = sv[0];
		R(f)->partner = sv[1];
		set_bufs(sv[0], e);
		return 0;
	} else if (e->type == SOCK_DGRAM && pf && E(pf)->peer == e->ino && !(e->has_name && e->name.len) &&
		   !(E(pf)->has_name && E(pf)->name.len)) {
		if ((ret = make_pair(s, e, sv)) < 0)
			return ret;
		R(f)->fd = sv[0];
		R(pf)->fd = sv[1];
		R(f)->pair = R(pf)->pair = true;
		set_bufs(sv[0], e);
		set_bufs(sv[1], E(pf));
		return 0;
	}
	ret = new_sock(e);
	if (ret < 0)
		return ret;
	R(f)->fd = ret;
	set_bufs(ret, e);
	if (e->has_name && e->name.len)
		return name_op(s, OP_BIND, ret, e);
	return 0;
}

/* Phase 3: connect the client to the listener (or a stand-in) and accept. */
static int accept_one(struct usk_set *s, struct file_obj *f)
{
	UnixSkEntry *e = E(f);
	struct file_obj *cf = e->peer ? usk_by_ino(s, e->peer) : NULL, *lf = usk_listener(s, e);
	_cleanup_close_ int tmp = -1;
	int lfd, cfd, fd;

	if (lf) {
		lfd = R(lf)->fd;
	} else {
		tmp = new_sock(e);
		if (tmp < 0)
			return tmp;
		if (name_op(s, OP_BIND, tmp, e) < 0 || listen(tmp, 1) < 0) {
			pr_err("unix socket %u: cannot stand in for its closed listener", e->id);
			return -EADDRINUSE;
		}
		lfd = tmp;
	}
	if (cf) {
		cfd = R(cf)->fd;
	} else {
		/* its client is gone: a stand-in, closed once the queue is written */
		cfd = new_sock(e);
		if (cfd < 0)
			return cfd;
		R(f)->partner = cfd;
	}
	/* the accepted end's SO_PEERCRED is whoever connected */
	if (name_op_as(s, OP_CONNECT, cfd, e, e->has_cred_pid ? e->cred_pid : 0) < 0)
		return -ECONNREFUSED;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		pr_perror("unix socket %u: cannot accept its connection", e->id);
		return -errno;
	}
	R(f)->fd = fd;
	set_bufs(fd, e);
	if (tmp >= 0 && usk_path_name(e) && e->name_gone) {
		if (usk_rel_name(e) && chdir(e->name_dir) == 0) {
			unlink((const char *)e->name.data);
			if (fchdir(s->cwd) < 0)
				return -errno;
		} else if (!usk_rel_name(e)) {
			unlink((const char *)e->name.data);
		}
	}
	return 0;
}

/* The socket bound to name addr, for a datagram's sender. */
static struct file_obj *usk_by_addr(struct usk_set *s, const ProtobufCBinaryData *addr)
{
	for (unsigned i = 0; i < s->n; i++) {
		UnixSkEntry *o = E(s->objs[i]);

		if (o->has_name && o->name.len == addr->len && !o->has_listener &&
		    o->state != USK_STATE_LISTEN && R(s->objs[i])->fd >= 0 &&
		    !memcmp(o->name.data, addr->data, addr->len))
			return s->objs[i];
	}
	return NULL;
}

static int send_packet(struct usk_set *s, const UnixSkEntry *dst, int wfd, bool to_name,
		       SkPacketEntry *pk, const char *data)
{
	char cbuf[CMSG_SPACE(sizeof(int) * USK_MAX_FDS)];
	struct iovec iov = { (void *)data, pk->length };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct sockaddr_un sun;
	size_t done = 0;
	int ret = 0;

	if (pk->n_fd_ids) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * pk->n_fd_ids);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * pk->n_fd_ids);
		for (size_t i = 0; i < pk->n_fd_ids; i++) {
			struct file_obj *o = file_find(s->ctx, pk->fd_types[i], pk->fd_ids[i]);
			int fd;

			if (!o) {
				pr_err("unix socket %u: a file in flight (type %u id %u) is not in the images",
				       dst->id, pk->fd_types[i], pk->fd_ids[i]);
				return -EINVAL;
			}
			if (o->ops == &unix_fd_ops)
				fd = R(o) ? R(o)->fd : -1;
			else if ((ret = file_open_obj(s->ctx, o)) < 0)
				return ret;
			else
				fd = o->fd;
			if (fd < 0) {
				pr_err("unix socket %u: socket %u in flight cannot be restored", dst->id, o->id);
				return -EINVAL;
			}
			memcpy(CMSG_DATA(cm) + i * sizeof(int), &fd, sizeof(int));
		}
	}
	if (to_name) {
		mh.msg_name = &sun;
		mh.msg_namelen = mkaddr(&sun, dst->name.data, dst->name.len);
		if (usk_rel_name(dst) && chdir(dst->name_dir) < 0)
			return -errno;
	}
	do {
		ssize_t r = sendmsg(wfd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r < 0) {
			ret = -errno;
			pr_perror("unix socket %u: cannot put %u bytes back in its queue", dst->id,
				  pk->length);
			break;
		}
		done += r;
		iov.iov_base = (char *)data + done;
		iov.iov_len = pk->length - done;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	} while (done < pk->length && dst->type == SOCK_STREAM);
	if (!ret && done != pk->length) {
		pr_err("unix socket %u: only %zu of %u bytes of a message went back", dst->id, done,
		       pk->length);
		ret = -EIO;
	}
	if (to_name && usk_rel_name(dst) && fchdir(s->cwd) < 0 && !ret)
		ret = -errno;
	return ret;
}

/* Write f's saved queue back; wfd: its peer (stream), or -1 (datagrams find their senders). */
static int write_queue(struct usk_set *s, struct file_obj *f, int wfd)
{
	UnixSkEntry *e = E(f);
	struct file_obj *pf = e->peer ? usk_by_ino(s, e->peer) : NULL;
	_cleanup_free_ char *data = NULL;
	struct cr_img *img;
	uint64_t off = 0;
	int ret = 0;

	if (!e->n_queue)
		return 0;
	img = img_open(&s->ctx->dir, IMG_SK_QUEUES, e->id, false);
	if (!img)
		return -EINVAL;
	if (img_raw_size(img) != e->queue_len) {
		pr_err("image %s: holds %llu bytes, the queue of unix socket %u had %u", img->name,
		       (unsigned long long)img_raw_size(img), e->id, e->queue_len);
		img_close(img);
		return -EINVAL;
	}
	data = malloc(e->queue_len + 1);
	if (!data || img_read_raw(img, data, e->queue_len)) {
		img_close(img);
		return data ? -EIO : -ENOMEM;
	}
	img_close(img);
	for (size_t i = 0; i < e->n_queue && !ret; i++) {
		SkPacketEntry *pk = e->queue[i];
		int fd = wfd, tmp = -1;
		bool to_name = false;

		if (e->type == SOCK_DGRAM) {
			struct file_obj *sf = pk->has_addr && pk->addr.len ? usk_by_addr(s, &pk->addr) : NULL;

			if (pk->has_addr && pk->addr.len && !sf)
				pr_warn("unix socket %u: the sender of a datagram, %.*s, is gone; it comes from an unnamed socket",
					e->id, (int)pk->addr.len, pk->addr.data);
			if (sf && !(R(sf)->pair && sf == pf)) {
				fd = R(sf)->fd;
				to_name = true;
			} else if (!sf && pf && R(f)->pair) {
				fd = R(pf)->fd;
			} else if (sf) {
				fd = R(sf)->fd;
			} else {
				tmp = fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
				to_name = true;
			}
			if (to_name && !(e->has_name && e->name.len)) {
				pr_err("unix socket %u: datagrams from others in the queue of an unnamed socket are not supported",
				       e->id);
				ret = -ENOTSUP;
			}
		}
		if (!ret && fd < 0) {
			pr_err("unix socket %u: nothing to write its queue from", e->id);
			ret = -EINVAL;
		}
		if (!ret)
			ret = send_packet(s, e, fd, to_name, pk, data + off);
		if (tmp >= 0)
			close(tmp);
		off += pk->length;
	}
	return ret;
}

static int unix_open_all(struct rst_ctx *ctx)
{
	struct usk_set s = { .ctx = ctx, .cwd = -1 };
	int ret = 0;

	s.objs = calloc(ctx->nr_files + 1, sizeof(*s.objs));
	if (!s.objs)
		return -ENOMEM;
	for (unsigned i = 0; i < ctx->nr_files; i++) {
		struct file_obj *f = &ctx->files[i];

		if (f->ops != &unix_fd_ops || f->fd >= 0 || files_obj_in_part(ctx, f) != 1)
			continue;
		f->priv = xzalloc(sizeof(struct usk_rst));
		if (!f->priv) {
			ret = -ENOMEM;
			goto out;
		}
		R(f)->fd = R(f)->partner = -1;
		s.objs[s.n++] = f;
	}
	/* with a container below the root, each part builds its own (opened
	 * where its tasks are); a socket no descriptor refers to (in a backlog,
	 * in flight, a peer kept only by one) goes with the part of the
	 * sockets it is tied to */
	for (bool more = true; more;) {
		more = false;
		for (unsigned i = 0; i < ctx->nr_files; i++) {
			struct file_obj *f = &ctx->files[i];
			bool mine = false;

			if (f->ops != &unix_fd_ops || f->fd >= 0 || f->priv || files_obj_in_part(ctx, f) != -1)
				continue;
			for (unsigned k = 0; k < s.n && !mine; k++) {
				const UnixSkEntry *o = E(s.objs[k]);

				mine = o->ino == E(f)->listener || (E(f)->peer && o->ino == E(f)->peer) ||
				       o->peer == E(f)->ino;
				for (size_t q = 0; q < o->n_queue && !mine; q++)
					for (size_t d = 0; d < o->queue[q]->n_fd_ids && d < o->queue[q]->n_fd_types; d++)
						if (o->queue[q]->fd_types[d] == FD_TYPES__UNIXSK &&
						    o->queue[q]->fd_ids[d] == f->id)
							mine = true;
			}
			if (!mine)
				continue;
			f->priv = xzalloc(sizeof(struct usk_rst));
			if (!f->priv) {
				ret = -ENOMEM;
				goto out;
			}
			R(f)->fd = R(f)->partner = -1;
			s.objs[s.n++] = f;
			more = true;
		}
	}
	s.call = mmap(NULL, sizeof(*s.call), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s.call == MAP_FAILED) {
		s.call = NULL;
		ret = -errno;
		goto out;
	}
	s.cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s.cwd < 0) {
		ret = -errno;
		goto out;
	}
	/* 1: sockets and names */
	for (unsigned i = 0; i < s.n && !ret; i++)
		ret = create_one(&s, s.objs[i]);
	/* 2: listeners */
	for (unsigned i = 0; i < s.n && !ret; i++) {
		UnixSkEntry *e = E(s.objs[i]);

		if (e->state != USK_STATE_LISTEN)
			continue;
		s.call->op = CALL_LISTEN;
		s.call->fd = R(s.objs[i])->fd;
		s.call->backlog = e->backlog;
		ret = as_pid(s.call, e->has_cred_pid ? e->cred_pid : 0);
		if (ret < 0)
			pr_err("unix socket %u: cannot listen: %s", e->id, strerror(-ret));
	}
	/* 3: established connections that went through a listener */
	for (unsigned i = 0; i < s.n && !ret; i++)
		if (R(s.objs[i])->accepted)
			ret = accept_one(&s, s.objs[i]);
	/* 4: queues of sockets in use */
	for (unsigned i = 0; i < s.n && !ret; i++) {
		struct file_obj *f = s.objs[i], *pf;
		UnixSkEntry *e = E(f);
		int wfd = -1;

		if (e->has_listener)
			continue;
		if (e->type != SOCK_DGRAM) {
			pf = e->peer ? usk_by_ino(&s, e->peer) : NULL;
			if (R(f)->partner >= 0)
				wfd = R(f)->partner;
			else if (pf && !E(pf)->has_listener)
				wfd = R(pf)->fd;
			else if (e->n_queue) {
				pr_err("unix socket %u: data in the queue of a socket with no peer", e->id);
				ret = -EINVAL;
				break;
			}
		}
		ret = write_queue(&s, f, wfd);
	}
	/* 5: connected datagram sockets */
	for (unsigned i = 0; i < s.n && !ret; i++) {
		UnixSkEntry *e = E(s.objs[i]);
		struct file_obj *pf;

		if (e->type != SOCK_DGRAM || !e->peer || R(s.objs[i])->pair)
			continue;
		pf = usk_by_ino(&s, e->peer);
		if (!pf && e->has_ext_peer) {
			UnixSkEntry ext = UNIX_SK_ENTRY__INIT;

			ext.id = e->id;
			ext.has_name = true;
			ext.name = e->ext_peer;
			ret = name_op(&s, OP_CONNECT, R(s.objs[i])->fd, &ext);
			continue;
		}
		if (!pf || !E(pf)->has_name || !E(pf)->name.len) {
			pr_err("unix socket %u: connected to an unnamed socket it was not created with", e->id);
			ret = -ENOTSUP;
			break;
		}
		ret = name_op(&s, OP_CONNECT, R(s.objs[i])->fd, E(pf));
	}
	/* 6: connections waiting in the backlogs, in their order */
	for (unsigned i = 0; i < s.n && !ret; i++) {
		UnixSkEntry *e = E(s.objs[i]);
		struct file_obj *lf, *cf;

		if (!e->has_listener)
			continue;
		lf = usk_by_ino(&s, e->listener);
		cf = usk_by_ino(&s, e->peer);
		if (!lf || !cf || R(cf)->fd < 0 || E(lf)->state != USK_STATE_LISTEN) {
			pr_err("unix socket %u: waits in the backlog of socket %llu, but it or its client is not in the images",
			       e->id, (unsigned long long)e->listener);
			ret = -EINVAL;
			break;
		}
		ret = name_op_as(&s, OP_CONNECT, R(cf)->fd, E(lf), e->has_cred_pid ? e->cred_pid : 0);
		if (!ret)
			ret = write_queue(&s, s.objs[i], R(cf)->fd);
	}
	/* 7: what must come last: shutdowns, flags, names whose file was gone */
	for (unsigned i = 0; i < s.n && !ret; i++) {
		struct file_obj *f = s.objs[i];
		UnixSkEntry *e = E(f);
		int fd = R(f)->fd;

		if (e->has_listener)
			continue;
		if (R(f)->partner >= 0) {
			close(R(f)->partner);
			R(f)->partner = -1;
		}
		if (e->shutdown & (USK_RCV_SHUTDOWN | USK_SEND_SHUTDOWN)) {
			int how = (e->shutdown & 3) == 3 ? SHUT_RDWR :
				  (e->shutdown & USK_SEND_SHUTDOWN) ? SHUT_WR : SHUT_RD;

			if (shutdown(fd, how) < 0 && errno != ENOTCONN) {
				ret = -errno;
				pr_perror("unix socket %u: cannot shut down", e->id);
				break;
			}
		}
		if (e->has_peek_off && e->peek_off) {
			int v = e->peek_off - 1;

			setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v));
		}
		if (fcntl(fd, F_SETFL, e->flags & (O_NONBLOCK | O_ASYNC)) < 0) {
			ret = -errno;
			pr_perror("unix socket %u: cannot set its file flags", e->id);
			break;
		}
		if (usk_path_name(e) && e->name_gone && !R(f)->accepted) {
			if (usk_rel_name(e) && chdir(e->name_dir) < 0)
				continue;
			unlink((const char *)e->name.data);
			if (usk_rel_name(e) && fchdir(s.cwd) < 0)
				ret = -errno;
		}
	}
	/* every socket goes to the service range */
	for (unsigned i = 0; i < s.n && !ret; i++) {
		struct file_obj *f = s.objs[i];

		if (E(f)->has_listener)
			continue;
		f->fd = rst_svc_fd(ctx, R(f)->fd);
		R(f)->fd = f->fd;
		if (f->fd < 0)
			ret = f->fd;
	}
out:
	for (unsigned i = 0; i < s.n; i++) {
		struct file_obj *f = s.objs[i];

		if (!R(f))
			continue;
		if (R(f)->partner >= 0)
			close(R(f)->partner);
		if (ret && R(f)->fd >= 0 && f->fd != R(f)->fd)
			close(R(f)->fd);
		R(f)->partner = -1;
	}
	if (s.cwd >= 0) {
		if (fchdir(s.cwd) < 0 && !ret)
			ret = -errno;
		close(s.cwd);
	}
	if (s.call)
		munmap(s.call, sizeof(*s.call));
	free(s.bound);
	free(s.objs);
	return ret;
}

static int unix_open(struct rst_ctx *ctx, struct file_obj *f)
{
	static bool busy;
	int ret;

	if (E(f)->has_listener) {
		pr_err("unix socket %u waits in a backlog: no descriptor refers to it", f->id);
		return -EINVAL;
	}
	if (f->priv) {
		pr_err("unix socket %u was not restored", f->id);
		return -EINVAL;
	}
	if (busy) {
		pr_err("unix socket %u is needed while the unix sockets are being restored", f->id);
		return -EINVAL;
	}
	busy = true;
	ret = unix_open_all(ctx);
	busy = false;
	return ret;
}

const struct fdtype_ops unix_fd_ops = {
	.type = FD_TYPES__UNIXSK,
	.name = "unix socket",
	.img = IMG_UNIXSK,
	.desc = &unix_sk_entry__descriptor,
	.match = unix_match,
	.dump = unix_dump,
	.validate = unix_validate,
	.open = unix_open,
};
