/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * INET sockets: TCP and UDP over IPv4 and IPv6.
 *
 * Dump works on a copy of the target's descriptor (pidfd_getfd): family,
 * type and protocol from SO_DOMAIN/SO_TYPE/SO_PROTOCOL, addresses from
 * getsockname/getpeername, the TCP state and a listener's backlog from
 * TCP_INFO, the options that matter with getsockopt. Datagrams queued on a
 * UDP socket are peeked (SO_PEEK_OFF walks the queue without consuming it)
 * with their senders, and sent again at restore from the sender's own
 * restored socket, or from a socket bound to the sender's address.
 *
 * Established connections need --tcp-established: the dumper's copy is put
 * in repair mode (TCP_REPAIR) and its sequence numbers, both queues, the
 * negotiated options and the window are read into tcp-stream-ID.img. The
 * copy stays in repair mode until the dump ends: when the tree is killed,
 * the last close happens in repair mode and sends nothing to the peer; if
 * the tree goes on, repair is turned off first. At restore the socket is
 * rebuilt in repair mode (connect sends no packet), and repair is turned
 * off in the task once every socket of the tree exists.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/sockios.h>

#include "fd/files.h"
#include "ns/net.h"
#include "restore/restore.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

#define INET_MAX_DGRAM	65535
#define INET_MAX_QUEUE	(64u << 20)	/* bytes queued on one socket, per queue */
#define UDP_CLOSED	TCP_CLOSE
#define UDP_CONNECTED	TCP_ESTABLISHED

union inet_addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
	struct sockaddr_storage ss;
};

/* ---------------------------------------------------------------- options */

enum {
	OPT_TCP = 0x1,		/* TCP only */
	OPT_UDP = 0x2,		/* UDP only */
	OPT_V4 = 0x4,		/* AF_INET only */
	OPT_V6 = 0x8,		/* AF_INET6 only */
	OPT_BUF = 0x10,		/* the kernel doubles what is set */
	OPT_AFTER_REPAIR = 0x20,/* set once repair is off (repair forces address reuse) */
	OPT_NOT_EST = 0x40,	/* not on an established connection */
};

struct inet_opt {
	int level, name;
	const char *what;
	unsigned flags;
};

static const struct inet_opt inet_opts[] = {
	{ SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", OPT_AFTER_REPAIR },
	{ SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", 0 },
	{ SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 0 },
	{ SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", 0 },
	{ SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY", 0 },
	{ SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", OPT_BUF },
	{ SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", OPT_BUF },
	{ SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT", 0 },
	{ SOL_SOCKET, SO_OOBINLINE, "SO_OOBINLINE", 0 },
	{ SOL_SOCKET, SO_MARK, "SO_MARK", 0 },
	{ SOL_SOCKET, SO_TIMESTAMP, "SO_TIMESTAMP", 0 },
	{ IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", OPT_TCP },
	{ IPPROTO_TCP, TCP_CORK, "TCP_CORK", OPT_TCP },
	{ IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", OPT_TCP },
	{ IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", OPT_TCP },
	{ IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", OPT_TCP },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", OPT_TCP },
	{ IPPROTO_TCP, TCP_NOTSENT_LOWAT, "TCP_NOTSENT_LOWAT", OPT_TCP },
	{ IPPROTO_TCP, TCP_SYNCNT, "TCP_SYNCNT", OPT_TCP },
	{ IPPROTO_TCP, TCP_LINGER2, "TCP_LINGER2", OPT_TCP },
	{ IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG", OPT_TCP | OPT_NOT_EST },
	{ IPPROTO_IP, IP_TOS, "IP_TOS", OPT_V4 },
	{ IPPROTO_IP, IP_TTL, "IP_TTL", OPT_V4 },
	{ IPPROTO_IP, IP_FREEBIND, "IP_FREEBIND", OPT_V4 },
	{ IPPROTO_IP, IP_TRANSPARENT, "IP_TRANSPARENT", OPT_V4 },
	{ IPPROTO_IP, IP_RECVERR, "IP_RECVERR", OPT_V4 },
	{ IPPROTO_IP, IP_PKTINFO, "IP_PKTINFO", OPT_V4 | OPT_UDP },
	{ IPPROTO_IP, IP_RECVTOS, "IP_RECVTOS", OPT_V4 },
	{ IPPROTO_IP, IP_RECVTTL, "IP_RECVTTL", OPT_V4 },
	{ IPPROTO_IP, IP_MTU_DISCOVER, "IP_MTU_DISCOVER", OPT_V4 },
	{ IPPROTO_IP, IP_MULTICAST_TTL, "IP_MULTICAST_TTL", OPT_V4 | OPT_UDP },
	{ IPPROTO_IP, IP_MULTICAST_LOOP, "IP_MULTICAST_LOOP", OPT_V4 | OPT_UDP },
	{ IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, "IP_BIND_ADDRESS_NO_PORT", OPT_V4 },
	{ IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", OPT_V6 },
	{ IPPROTO_IPV6, IPV6_TCLASS, "IPV6_TCLASS", OPT_V6 },
	{ IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS", OPT_V6 },
	{ IPPROTO_IPV6, IPV6_RECVPKTINFO, "IPV6_RECVPKTINFO", OPT_V6 | OPT_UDP },
	{ IPPROTO_IPV6, IPV6_RECVERR, "IPV6_RECVERR", OPT_V6 },
	{ IPPROTO_IPV6, IPV6_MTU_DISCOVER, "IPV6_MTU_DISCOVER", OPT_V6 },
	{ IPPROTO_IPV6, IPV6_MULTICAST_HOPS, "IPV6_MULTICAST_HOPS", OPT_V6 | OPT_UDP },
	{ IPPROTO_IPV6, IPV6_MULTICAST_LOOP, "IPV6_MULTICAST_LOOP", OPT_V6 | OPT_UDP },
	{ IPPROTO_IPV6, IPV6_FREEBIND, "IPV6_FREEBIND", OPT_V6 },
};

static bool opt_applies(const struct inet_opt *o, int family, int proto, int state)
{
	if ((o->flags & OPT_TCP) && proto != IPPROTO_TCP)
		return false;
	if ((o->flags & OPT_UDP) && proto != IPPROTO_UDP)
		return false;
	if ((o->flags & OPT_V4) && family != AF_INET)
		return false;
	if ((o->flags & OPT_V6) && family != AF_INET6)
		return false;
	if ((o->flags & OPT_NOT_EST) && state == TCP_ESTABLISHED)
		return false;
	return true;
}

static const struct inet_opt *opt_find(uint32_t level, uint32_t name)
{
	for (unsigned i = 0; i < ARRAY_SIZE(inet_opts); i++)
		if ((uint32_t)inet_opts[i].level == level && (uint32_t)inet_opts[i].name == name)
			return &inet_opts[i];
	return NULL;
}

static int get_int(int sk, int level, int name, int *val)
{
	socklen_t l = sizeof(*val);

	*val = 0;
	return getsockopt(sk, level, name, val, &l);
}

/* ---------------------------------------------------------------- addresses */

static const char *family_name(int family)
{
	switch (family) {
	case AF_INET: return "IPv4";
	case AF_INET6: return "IPv6";
	default: return "?";
	}
}

static const char *sock_kind_name(int type, int proto)
{
	switch (proto) {
	case IPPROTO_ICMP: return "ICMP";
	case IPPROTO_ICMPV6: return "ICMPv6";
	case IPPROTO_SCTP: return "SCTP";
	case IPPROTO_UDPLITE: return "UDP-Lite";
	case IPPROTO_MPTCP: return "MPTCP";
	}
	switch (type) {
	case SOCK_RAW: return "raw";
	case SOCK_SEQPACKET: return "seqpacket";
	case SOCK_DGRAM: return "datagram";
	case SOCK_STREAM: return "stream";
	default: return "unknown";
	}
}

static const char *tcp_state_name(int state)
{
	static const char *names[] = {
		[TCP_ESTABLISHED] = "ESTABLISHED", [TCP_SYN_SENT] = "SYN_SENT",
		[TCP_SYN_RECV] = "SYN_RECV", [TCP_FIN_WAIT1] = "FIN_WAIT1",
		[TCP_FIN_WAIT2] = "FIN_WAIT2", [TCP_TIME_WAIT] = "TIME_WAIT",
		[TCP_CLOSE] = "CLOSE", [TCP_CLOSE_WAIT] = "CLOSE_WAIT",
		[TCP_LAST_ACK] = "LAST_ACK", [TCP_LISTEN] = "LISTEN", [TCP_CLOSING] = "CLOSING",
	};

	if (state > 0 && (unsigned)state < ARRAY_SIZE(names) && names[state])
		return names[state];
	return "unknown";
}

/* "1.2.3.4:80" or "[::1]:80" from raw address bytes. */
static const char *fmt_addr(char *buf, size_t len, const void *addr, size_t alen, uint32_t port)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (alen == 4) {
		inet_ntop(AF_INET, addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, port);
	} else {
		if (alen == 16)
			inet_ntop(AF_INET6, addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, port);
	}
	return buf;
}

/* Raw address bytes, length and port of a socket address. */
static size_t addr_raw(const union inet_addr *a, const uint8_t **raw, uint32_t *port)
{
	if (a->sa.sa_family == AF_INET) {
		*raw = (const uint8_t *)&a->v4.sin_addr;
		*port = ntohs(a->v4.sin_port);
		return 4;
	}
	*raw = (const uint8_t *)&a->v6.sin6_addr;
	*port = ntohs(a->v6.sin6_port);
	return 16;
}

static socklen_t addr_make(union inet_addr *a, int family, const uint8_t *raw, uint32_t port,
			   uint32_t scope)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		a->v4.sin_family = AF_INET;
		a->v4.sin_port = htons(port);
		memcpy(&a->v4.sin_addr, raw, 4);
		return sizeof(a->v4);
	}
	a->v6.sin6_family = AF_INET6;
	a->v6.sin6_port = htons(port);
	memcpy(&a->v6.sin6_addr, raw, 16);
	a->v6.sin6_scope_id = scope;
	return sizeof(a->v6);
}

/* An address as 16 bytes, IPv4 ones mapped (::ffff:a.b.c.d). */
static void addr_canon(uint8_t out[16], const uint8_t *raw, size_t len)
{
	if (len == 4) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, raw, 4);
	} else {
		memcpy(out, raw, 16);
	}
}

static bool canon_is_v4(const uint8_t a[16])
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, pfx, 12);
}

static bool canon_is_any(const uint8_t a[16])
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, 16) || (canon_is_v4(a) && !memcmp(a + 12, zero, 4));
}

/* ---------------------------------------------------------------- dump */

/* Dumper's copies of connections in repair mode, held until the dump ends. */
struct held_sk {
	int fd;
	int reuse;		/* SO_REUSEADDR before repair */
	bool repair;
};

static struct held_sk *held;
static unsigned nr_held;

static int grab_fd(pid_t pid, int fd)
{
	int pfd, sk, err;

	pfd = syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return -errno;
	sk = syscall(SYS_pidfd_getfd, pfd, fd, 0);
	err = errno;
	close(pfd);
	return sk < 0 ? -err : sk;
}

static bool inet_match(const struct fd_parms *p)
{
	int sk, dom;
	bool ret;

	if (!S_ISSOCK(p->st.st_mode) || p->fd < 0)
		return false;
	sk = grab_fd(p->pid, p->fd);
	if (sk < 0)
		return false;
	ret = !get_int(sk, SOL_SOCKET, SO_DOMAIN, &dom) && (dom == AF_INET || dom == AF_INET6);
	close(sk);
	return ret;
}

static void repair_off(struct held_sk *h)
{
	int off = TCP_REPAIR_OFF;

	if (!h->repair)
		return;
	if (setsockopt(h->fd, SOL_TCP, TCP_REPAIR, &off, sizeof(off)) < 0)
		pr_perror("cannot take a connection out of repair mode");
	else
		h->repair = false;
	/* Leaving repair mode drops the socket's address reuse setting. */
	if (h->reuse && setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &h->reuse, sizeof(h->reuse)) < 0)
		pr_perror("cannot set SO_REUSEADDR back on a connection");
}

void inet_dump_resume(void)
{
	for (unsigned i = 0; i < nr_held; i++)
		repair_off(&held[i]);
	net_dump_unlock();
}

void inet_dump_fini(void)
{
	/* Still in repair mode if the tree was killed: the close sends nothing. */
	for (unsigned i = 0; i < nr_held; i++)
		close(held[i].fd);
	net_dump_lock_fini();	/* the host ends went (or stay down) with the namespace */
	free(held);
	held = NULL;
	nr_held = 0;
}

static int dump_opts(int sk, InetSkEntry *e, InetSkOpt *store, InetSkOpt **ptrs)
{
	struct linger lg;
	struct timeval tv;
	char dev[IFNAMSIZ + 1];
	socklen_t l;

	for (unsigned i = 0; i < ARRAY_SIZE(inet_opts); i++) {
		const struct inet_opt *o = &inet_opts[i];
		int v;

		if (!opt_applies(o, e->family, e->proto, e->state))
			continue;
		if (get_int(sk, o->level, o->name, &v) < 0) {
			pr_debug("socket %u: %s: %s (skipped)", e->id, o->what, strerror(errno));
			continue;
		}
		inet_sk_opt__init(&store[e->n_opts]);
		store[e->n_opts].level = o->level;
		store[e->n_opts].name = o->name;
		store[e->n_opts].val = v;
		ptrs[e->n_opts] = &store[e->n_opts];
		e->n_opts++;
	}
	e->opts = ptrs;

	l = sizeof(lg);
	if (!getsockopt(sk, SOL_SOCKET, SO_LINGER, &lg, &l) && (lg.l_onoff || lg.l_linger)) {
		e->has_linger_onoff = e->has_linger_secs = true;
		e->linger_onoff = lg.l_onoff;
		e->linger_secs = lg.l_linger;
	}
	l = sizeof(tv);
	if (!getsockopt(sk, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) && (tv.tv_sec || tv.tv_usec)) {
		e->has_rcvtimeo_us = true;
		e->rcvtimeo_us = tv.tv_sec * 1000000ULL + tv.tv_usec;
	}
	l = sizeof(tv);
	if (!getsockopt(sk, SOL_SOCKET, SO_SNDTIMEO, &tv, &l) && (tv.tv_sec || tv.tv_usec)) {
		e->has_sndtimeo_us = true;
		e->sndtimeo_us = tv.tv_sec * 1000000ULL + tv.tv_usec;
	}
	memset(dev, 0, sizeof(dev));
	l = IFNAMSIZ;
	if (!getsockopt(sk, SOL_SOCKET, SO_BINDTODEVICE, dev, &l) && l > 0 && dev[0]) {
		e->bind_dev = xstrdup(dev);
		if (!e->bind_dev)
			return -ENOMEM;
	}
	return 0;
}

static void free_dgrams(InetSkEntry *e)
{
	for (size_t i = 0; i < e->n_rcv_queue; i++) {
		free(e->rcv_queue[i]->data.data);
		free(e->rcv_queue[i]->src_addr.data);
		free(e->rcv_queue[i]);
	}
	free(e->rcv_queue);
	e->rcv_queue = NULL;
	e->n_rcv_queue = 0;
}

/*
 * Every datagram queued on a UDP socket, oldest first, without consuming any:
 * with a peek offset each MSG_PEEK returns the next one. An empty datagram
 * cannot be stepped over this way; one at the head is refused.
 */
static int dump_dgrams(struct fd_parms *p, int sk, InetSkEntry *e)
{
	_cleanup_free_ uint8_t *buf = xzalloc(INET_MAX_DGRAM + 1);
	int old_off = -1, zero = 0, ret = 0;
	uint64_t total = 0;

	if (!buf)
		return -ENOMEM;
	if (get_int(sk, SOL_SOCKET, SO_PEEK_OFF, &old_off) < 0 ||
	    setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0) {
		/* Without a peek offset only an empty queue can be told apart. */
		if (recv(sk, buf, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN)
			return 0;
		pr_err("pid %d fd %d: UDP socket with queued datagrams is not supported "
		       "(SO_PEEK_OFF: %s)", p->pid, p->fd, strerror(errno));
		return -ENOTSUP;
	}
	for (;;) {
		union inet_addr from;
		struct iovec iov = { buf, INET_MAX_DGRAM + 1 };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
				     .msg_iov = &iov, .msg_iovlen = 1 };
		InetDgram *d, **q;
		const uint8_t *raw;
		uint32_t port;
		size_t alen;
		ssize_t n;

		n = recvmsg(sk, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EAGAIN)
				break;
			ret = -errno;
			pr_perror("pid %d fd %d: cannot peek at queued datagrams", p->pid, p->fd);
			break;
		}
		if (n > INET_MAX_DGRAM || (mh.msg_flags & MSG_TRUNC) || n == 0 ||
		    (from.sa.sa_family != AF_INET && from.sa.sa_family != AF_INET6)) {
			pr_err("pid %d fd %d: a queued datagram of %zd bytes cannot be saved "
			       "(empty, oversized or without a sender)", p->pid, p->fd, n);
			ret = -ENOTSUP;
			break;
		}
		total += n;
		if (total > INET_MAX_QUEUE) {
			pr_err("pid %d fd %d: more than %u bytes of datagrams queued", p->pid, p->fd,
			       INET_MAX_QUEUE);
			ret = -ENOTSUP;
			break;
		}
		alen = addr_raw(&from, &raw, &port);
		d = xzalloc(sizeof(*d));
		q = xrealloc_array(e->rcv_queue, e->n_rcv_queue + 1, sizeof(*q));
		if (q)
			e->rcv_queue = q;
		if (!d || !q) {
			free(d);
			ret = -ENOMEM;
			break;
		}
		inet_dgram__init(d);
		e->rcv_queue[e->n_rcv_queue++] = d;
		d->data.data = malloc(n);
		d->src_addr.data = malloc(alen);
		if (!d->data.data || !d->src_addr.data) {
			ret = -ENOMEM;
			break;
		}
		memcpy(d->data.data, buf, n);
		d->data.len = n;
		memcpy(d->src_addr.data, raw, alen);
		d->src_addr.len = alen;
		d->src_port = port;
	}
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old_off, sizeof(old_off)) < 0 && !ret) {
		pr_perror("pid %d fd %d: cannot set SO_PEEK_OFF back", p->pid, p->fd);
		ret = -errno;
	}
	if (!ret && e->n_rcv_queue)
		pr_info("pid %d fd %d: %zu datagrams queued", p->pid, p->fd, e->n_rcv_queue);
	return ret;
}

/* Peek at len bytes of the queue selected with TCP_REPAIR_QUEUE; *seq: its end. */
static int peek_queue(struct fd_parms *p, int sk, int queue, uint32_t len, uint32_t *seq,
		      ProtobufCBinaryData *data)
{
	socklen_t l = sizeof(*seq);
	ssize_t n;

	if (setsockopt(sk, SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) < 0 ||
	    getsockopt(sk, SOL_TCP, TCP_QUEUE_SEQ, seq, &l) < 0) {
		pr_perror("pid %d fd %d: cannot read the %s queue's sequence number", p->pid, p->fd,
			  queue == TCP_RECV_QUEUE ? "receive" : "send");
		return -errno;
	}
	if (!len)
		return 0;
	if (len > INET_MAX_QUEUE) {
		pr_err("pid %d fd %d: %u bytes queued, more than %u", p->pid, p->fd, len,
		       INET_MAX_QUEUE);
		return -ENOTSUP;
	}
	data->data = malloc(len);
	if (!data->data)
		return -ENOMEM;
	n = recv(sk, data->data, len, MSG_PEEK | MSG_DONTWAIT);
	if (n != (ssize_t)len) {
		pr_err("pid %d fd %d: read %zd of the %u bytes in the %s queue: %s", p->pid, p->fd,
		       n, len, queue == TCP_RECV_QUEUE ? "receive" : "send",
		       n < 0 ? strerror(errno) : "short read");
		return n < 0 ? -errno : -EIO;
	}
	data->len = len;
	return 0;
}

static int hold_repaired(int sk, int reuse)
{
	struct held_sk *h = xrealloc_array(held, nr_held + 1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	held = h;
	held[nr_held++] = (struct held_sk){ sk, reuse, true };
	return 0;
}

/* Read an established connection in repair mode. Takes sk (held until the dump ends). */
static int dump_tcp_stream(struct dump_ctx *ctx, struct fd_parms *p, int sk, InetSkEntry *e)
{
	TcpStreamEntry t = TCP_STREAM_ENTRY__INIT;
	struct tcp_repair_window w;
	struct tcp_info ti;
	socklen_t l;
	int on = TCP_REPAIR_ON, reuse = 0, outq = 0, unsq = 0, inq = 0, v, ret;
	uint32_t seq;
	struct cr_img *img;

	get_int(sk, SOL_SOCKET, SO_REUSEADDR, &reuse);
	/* nothing reaches the connection from now on (see net_dump_lock) */
	ret = net_dump_lock(sk);
	if (ret) {
		close(sk);
		return ret;
	}
	if (setsockopt(sk, SOL_TCP, TCP_REPAIR, &on, sizeof(on)) < 0) {
		pr_perror("pid %d fd %d: cannot put the connection in repair mode", p->pid, p->fd);
		close(sk);
		return -errno;
	}
	ret = hold_repaired(sk, reuse);
	if (ret) {
		struct held_sk h = { sk, reuse, true };

		repair_off(&h);
		close(sk);
		return ret;
	}
	l = sizeof(ti);
	if (getsockopt(sk, SOL_TCP, TCP_INFO, &ti, &l) < 0 || ti.tcpi_state != TCP_ESTABLISHED) {
		pr_err("pid %d fd %d: the connection changed state while it was read", p->pid, p->fd);
		return -EAGAIN;
	}
	l = sizeof(w);
	if (getsockopt(sk, SOL_TCP, TCP_REPAIR_WINDOW, &w, &l) == 0) {
		t.has_snd_wl1 = t.has_snd_wnd = t.has_max_window = t.has_rcv_wnd = t.has_rcv_wup = true;
		t.snd_wl1 = w.snd_wl1;
		t.snd_wnd = w.snd_wnd;
		t.max_window = w.max_window;
		t.rcv_wnd = w.rcv_wnd;
		t.rcv_wup = w.rcv_wup;
	}
	if (ioctl(sk, SIOCOUTQ, &outq) < 0 || ioctl(sk, SIOCOUTQNSD, &unsq) < 0 ||
	    ioctl(sk, SIOCINQ, &inq) < 0 || outq < 0 || inq < 0) {
		pr_perror("pid %d fd %d: cannot read the queue lengths", p->pid, p->fd);
		return -errno;
	}
	ret = peek_queue(p, sk, TCP_SEND_QUEUE, outq, &seq, &t.outq_data);
	if (ret)
		goto out;
	t.outq_seq = seq - outq;
	t.has_unsq_len = true;
	t.unsq_len = unsq;
	ret = peek_queue(p, sk, TCP_RECV_QUEUE, inq, &seq, &t.inq_data);
	if (ret)
		goto out;
	t.inq_seq = seq - inq;
	v = TCP_NO_QUEUE;
	setsockopt(sk, SOL_TCP, TCP_REPAIR_QUEUE, &v, sizeof(v));
	t.opt_mask = ti.tcpi_options;
	t.has_snd_wscale = t.has_rcv_wscale = true;
	t.snd_wscale = ti.tcpi_snd_wscale;
	t.rcv_wscale = ti.tcpi_rcv_wscale;
	if (get_int(sk, SOL_TCP, TCP_MAXSEG, &v) < 0) {
		pr_perror("pid %d fd %d: cannot read the MSS", p->pid, p->fd);
		ret = -errno;
		goto out;
	}
	t.mss_clamp = v;
	if (ti.tcpi_options & TCPI_OPT_TIMESTAMPS) {
		if (get_int(sk, SOL_TCP, TCP_TIMESTAMP, &v) < 0) {
			pr_perror("pid %d fd %d: cannot read the timestamp", p->pid, p->fd);
			ret = -errno;
			goto out;
		}
		t.has_timestamp = true;
		t.timestamp = v;
	}
	img = img_open(&ctx->dir, IMG_TCP_STREAM, e->id, true);
	if (!img) {
		ret = -EIO;
		goto out;
	}
	ret = img_write_pb(img, &t.base);
	if (img_close(img) && !ret)
		ret = -EIO;
	e->has_tcp_repair = e->tcp_repair = true;
	pr_info("pid %d fd %d: connection saved, %u bytes to read, %u to send", p->pid, p->fd,
		inq, outq);
out:
	free(t.inq_data.data);
	free(t.outq_data.data);
	return ret;
}

static int inet_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	InetSkEntry e = INET_SK_ENTRY__INIT;
	InetSkOpt opt_store[ARRAY_SIZE(inet_opts)], *opt_ptrs[ARRAY_SIZE(inet_opts)];
	union inet_addr self, peer;
	const uint8_t *raw;
	uint8_t self_raw[16], peer_raw[16];
	char a1[64], a2[64];
	struct tcp_info ti;
	int sk, dom, type, proto, ret;
	bool connected = false;
	socklen_t l;
	size_t alen;

	sk = grab_fd(p->pid, p->fd);
	if (sk < 0) {
		pr_err("pid %d fd %d: cannot take a copy of the socket: %s", p->pid, p->fd,
		       strerror(-sk));
		return sk;
	}
	if (get_int(sk, SOL_SOCKET, SO_DOMAIN, &dom) < 0 || get_int(sk, SOL_SOCKET, SO_TYPE, &type) < 0 ||
	    get_int(sk, SOL_SOCKET, SO_PROTOCOL, &proto) < 0) {
		pr_perror("pid %d fd %d: cannot read the socket's kind", p->pid, p->fd);
		ret = -errno;
		goto out;
	}
	if (!(type == SOCK_STREAM && proto == IPPROTO_TCP) && !(type == SOCK_DGRAM && proto == IPPROTO_UDP)) {
		pr_err("pid %d fd %d: %s %s socket (type %d, protocol %d) is not supported "
		       "(only TCP and UDP are)", p->pid, p->fd, family_name(dom),
		       sock_kind_name(type, proto), type, proto);
		ret = -ENOTSUP;
		goto out;
	}
	e.id = id;
	e.family = dom;
	e.type = type;
	e.proto = proto;
	e.flags = p->flags;
	l = sizeof(self);
	if (getsockname(sk, &self.sa, &l) < 0) {
		pr_perror("pid %d fd %d: getsockname", p->pid, p->fd);
		ret = -errno;
		goto out;
	}
	alen = addr_raw(&self, &raw, &e.src_port);
	memcpy(self_raw, raw, alen);
	e.src_addr.data = self_raw;
	e.src_addr.len = alen;
	if (dom == AF_INET6 && self.v6.sin6_scope_id) {
		e.has_scope_id = true;
		e.scope_id = self.v6.sin6_scope_id;
	}
	l = sizeof(peer);
	if (getpeername(sk, &peer.sa, &l) == 0) {
		connected = true;
		alen = addr_raw(&peer, &raw, &e.dst_port);
		memcpy(peer_raw, raw, alen);
		e.has_dst_addr = e.has_dst_port = true;
		e.dst_addr.data = peer_raw;
		e.dst_addr.len = alen;
		if (dom == AF_INET6 && peer.v6.sin6_scope_id) {
			e.has_dst_scope_id = true;
			e.dst_scope_id = peer.v6.sin6_scope_id;
		}
		fmt_addr(a2, sizeof(a2), peer_raw, alen, e.dst_port);
	} else if (errno != ENOTCONN) {
		pr_perror("pid %d fd %d: getpeername", p->pid, p->fd);
		ret = -errno;
		goto out;
	}
	fmt_addr(a1, sizeof(a1), self_raw, e.src_addr.len, e.src_port);

	if (proto == IPPROTO_TCP) {
		l = sizeof(ti);
		if (getsockopt(sk, SOL_TCP, TCP_INFO, &ti, &l) < 0) {
			pr_perror("pid %d fd %d: TCP_INFO", p->pid, p->fd);
			ret = -errno;
			goto out;
		}
		e.state = ti.tcpi_state;
		switch (e.state) {
		case TCP_CLOSE:
			e.has_dst_addr = e.has_dst_port = e.has_dst_scope_id = false;
			break;
		case TCP_LISTEN:
			if (ti.tcpi_unacked) {
				pr_err("pid %d fd %d: listening TCP socket %s with %u connections not yet "
				       "accepted is not supported", p->pid, p->fd, a1, ti.tcpi_unacked);
				ret = -ENOTSUP;
				goto out;
			}
			e.has_backlog = true;
			e.backlog = ti.tcpi_sacked;
			break;
		case TCP_ESTABLISHED:
			if (!ctx->opts->tcp_established) {
				pr_err("pid %d fd %d: established TCP connection %s -> %s (use --tcp-established)",
				       p->pid, p->fd, a1, connected ? a2 : "?");
				ret = -ENOTSUP;
				goto out;
			}
			if (!connected) {
				pr_err("pid %d fd %d: established TCP connection %s has no peer", p->pid,
				       p->fd, a1);
				ret = -EINVAL;
				goto out;
			}
			break;
		default:
			pr_err("pid %d fd %d: TCP connection %s -> %s in state %s is not supported "
			       "(only listening, closed and established ones are)", p->pid, p->fd, a1,
			       connected ? a2 : "?", tcp_state_name(e.state));
			ret = -ENOTSUP;
			goto out;
		}
	} else {
		e.state = connected ? UDP_CONNECTED : UDP_CLOSED;
	}
	ret = dump_opts(sk, &e, opt_store, opt_ptrs);
	if (!ret && proto == IPPROTO_UDP)
		ret = dump_dgrams(p, sk, &e);
	if (!ret && proto == IPPROTO_TCP && e.state == TCP_ESTABLISHED) {
		ret = dump_tcp_stream(ctx, p, sk, &e);
		sk = -1;
	}
	if (!ret)
		ret = img_write_pb(dump_img(ctx, IMG_INETSK), &e.base);
	pr_debug("pid %d fd %d: %s %s socket %s state %s", p->pid, p->fd, family_name(dom),
		 proto == IPPROTO_TCP ? "TCP" : "UDP", a1, tcp_state_name(e.state));
out:
	free_dgrams(&e);
	free(e.bind_dev);
	if (sk >= 0)
		close(sk);
	return ret;
}

/* ---------------------------------------------------------------- restore */

static size_t family_alen(uint32_t family)
{
	return family == AF_INET ? 4 : 16;
}

static int inet_validate(struct rst_ctx *ctx, struct file_obj *f)
{
	InetSkEntry *e = f->msg;
	uint64_t total = 0;
	const char *bad = NULL;

	if (e->family != AF_INET && e->family != AF_INET6)
		bad = "family";
	else if (!(e->type == SOCK_STREAM && e->proto == IPPROTO_TCP) &&
		 !(e->type == SOCK_DGRAM && e->proto == IPPROTO_UDP))
		bad = "type or protocol";
	else if (e->src_addr.len != family_alen(e->family) || e->src_port > 65535)
		bad = "local address";
	else if ((e->has_dst_addr || e->has_dst_port) &&
		 (!e->has_dst_addr || !e->has_dst_port || e->dst_addr.len != family_alen(e->family) ||
		  !e->dst_port || e->dst_port > 65535))
		bad = "peer address";
	else if (e->proto == IPPROTO_TCP && e->state != TCP_CLOSE && e->state != TCP_LISTEN &&
		 e->state != TCP_ESTABLISHED)
		bad = "TCP state";
	else if (e->proto == IPPROTO_UDP && e->state != UDP_CLOSED && e->state != UDP_CONNECTED)
		bad = "UDP state";
	else if (e->state == TCP_ESTABLISHED && !e->has_dst_addr)
		bad = "connection without a peer";
	else if (e->proto == IPPROTO_TCP && e->state == TCP_ESTABLISHED && !e->tcp_repair)
		bad = "established connection without its stream";
	else if (e->tcp_repair && (e->proto != IPPROTO_TCP || e->state != TCP_ESTABLISHED))
		bad = "stream on a socket that is not an established connection";
	else if (e->state == TCP_LISTEN && (!e->has_backlog || e->backlog > 1u << 20 || !e->src_port))
		bad = "listening socket";
	else if (e->bind_dev && strlen(e->bind_dev) >= IFNAMSIZ)
		bad = "device name";
	else if (e->n_rcv_queue && e->proto != IPPROTO_UDP)
		bad = "datagrams on a stream socket";
	else if ((e->has_rcvtimeo_us && e->rcvtimeo_us > (uint64_t)INT32_MAX * 1000000) ||
		 (e->has_sndtimeo_us && e->sndtimeo_us > (uint64_t)INT32_MAX * 1000000))
		bad = "timeout";
	for (size_t i = 0; !bad && i < e->n_opts; i++) {
		const struct inet_opt *o = opt_find(e->opts[i]->level, e->opts[i]->name);

		if (!o || !opt_applies(o, e->family, e->proto, e->state))
			bad = "option";
	}
	for (size_t i = 0; !bad && i < e->n_rcv_queue; i++) {
		InetDgram *d = e->rcv_queue[i];

		total += d->data.len;
		if (!d->data.len || d->data.len > INET_MAX_DGRAM || total > INET_MAX_QUEUE)
			bad = "queued datagram size";
		else if ((d->src_addr.len != 4 && d->src_addr.len != 16) || d->src_port > 65535)
			bad = "queued datagram sender";
	}
	if (bad) {
		pr_err("image inetsk.img: socket %u: invalid %s", f->id, bad);
		return -EINVAL;
	}
	if (e->tcp_repair && !(ctx->inv->has_flags && (ctx->inv->flags & INV_F_TCP_ESTABLISHED))) {
		pr_err("image inetsk.img: socket %u is an established connection, but the images "
		       "were not dumped with --tcp-established", f->id);
		return -EINVAL;
	}
	return 0;
}

/* Set the saved options that differ from what the new socket has. */
static int apply_opts(struct file_obj *f, int sk, bool after_repair)
{
	InetSkEntry *e = f->msg;
	struct timeval tv;

	for (size_t i = 0; i < e->n_opts; i++) {
		const struct inet_opt *o = opt_find(e->opts[i]->level, e->opts[i]->name);
		bool late = e->tcp_repair && (o->flags & OPT_AFTER_REPAIR);
		int cur, val = e->opts[i]->val, name = o->name;

		if (late != after_repair)
			continue;
		if (get_int(sk, o->level, o->name, &cur) == 0 && cur == val)
			continue;
		if (o->flags & OPT_BUF) {
			/* The kernel doubles it; FORCE goes past rmem_max/wmem_max. */
			val /= 2;
			name = o->name == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
			if (setsockopt(sk, o->level, name, &val, sizeof(val)) == 0)
				continue;
			name = o->name;
		}
		if (setsockopt(sk, o->level, name, &val, sizeof(val)) < 0) {
			pr_perror("socket %u: cannot set %s to %d", f->id, o->what, val);
			return -errno;
		}
	}
	if (after_repair)
		return 0;
	if (e->has_linger_onoff) {
		struct linger lg = { .l_onoff = e->linger_onoff, .l_linger = e->linger_secs };

		if (setsockopt(sk, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0) {
			pr_perror("socket %u: cannot set SO_LINGER", f->id);
			return -errno;
		}
	}
	if (e->has_rcvtimeo_us) {
		tv.tv_sec = e->rcvtimeo_us / 1000000;
		tv.tv_usec = e->rcvtimeo_us % 1000000;
		if (setsockopt(sk, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
			pr_perror("socket %u: cannot set SO_RCVTIMEO", f->id);
			return -errno;
		}
	}
	if (e->has_sndtimeo_us) {
		tv.tv_sec = e->sndtimeo_us / 1000000;
		tv.tv_usec = e->sndtimeo_us % 1000000;
		if (setsockopt(sk, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
			pr_perror("socket %u: cannot set SO_SNDTIMEO", f->id);
			return -errno;
		}
	}
	if (e->bind_dev &&
	    setsockopt(sk, SOL_SOCKET, SO_BINDTODEVICE, e->bind_dev, strlen(e->bind_dev) + 1) < 0) {
		pr_perror("socket %u: cannot bind to device %s", f->id, e->bind_dev);
		return -errno;
	}
	return 0;
}

/* Where a datagram to socket e goes, as an address of family fam. */
static int dgram_dest(const InetSkEntry *e, const uint8_t src[16], int fam, union inet_addr *to,
		      socklen_t *tl)
{
	static const uint8_t lo6[16] = { [15] = 1 };
	static const uint8_t lo4[4] = { 127, 0, 0, 1 };
	uint8_t dst[16];

	addr_canon(dst, e->src_addr.data, e->src_addr.len);
	if (canon_is_any(dst)) {
		if (e->family == AF_INET || canon_is_v4(src))
			addr_canon(dst, lo4, 4);
		else
			memcpy(dst, lo6, 16);
	}
	if (fam == AF_INET) {
		if (!canon_is_v4(dst))
			return -EAFNOSUPPORT;
		*tl = addr_make(to, AF_INET, dst + 12, e->src_port, 0);
	} else {
		*tl = addr_make(to, AF_INET6, dst, e->src_port, e->has_scope_id ? e->scope_id : 0);
	}
	return 0;
}

/* A socket of the tree bound to the datagram's sender address. */
static struct file_obj *find_sender(struct rst_ctx *ctx, const uint8_t src[16], uint32_t port)
{
	for (unsigned i = 0; i < ctx->nr_files; i++) {
		struct file_obj *o = &ctx->files[i];
		InetSkEntry *oe = o->msg;
		uint8_t a[16];

		if (o->ops != &inet_fd_ops || oe->proto != IPPROTO_UDP || oe->src_port != port)
			continue;
		addr_canon(a, oe->src_addr.data, oe->src_addr.len);
		if (!memcmp(a, src, 16) || canon_is_any(a))
			return o;
	}
	return NULL;
}

/* A socket bound to the sender's address, for a sender that is not in the tree. */
static int temp_sender(const uint8_t src[16], uint32_t port, int *fam)
{
	union inet_addr a;
	socklen_t al;
	int sk, one = 1;

	*fam = canon_is_v4(src) ? AF_INET : AF_INET6;
	sk = socket(*fam, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (sk < 0)
		return -errno;
	setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (*fam == AF_INET) {
		setsockopt(sk, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
		al = addr_make(&a, AF_INET, src + 12, port, 0);
	} else {
		setsockopt(sk, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
		al = addr_make(&a, AF_INET6, src, port, 0);
	}
	if (bind(sk, &a.sa, al) < 0) {
		char b[64];

		pr_warn("cannot send a queued datagram from %s (%s): it comes from another port",
			fmt_addr(b, sizeof(b), canon_is_v4(src) ? src + 12 : src,
				 canon_is_v4(src) ? 4 : 16, port), strerror(errno));
	}
	return sk;
}

/* Queue the saved datagrams on f again, each sent from its sender's address. */
static int restore_dgrams(struct rst_ctx *ctx, struct file_obj *f)
{
	InetSkEntry *e = f->msg;
	int ret;

	for (size_t i = 0; i < e->n_rcv_queue; i++) {
		InetDgram *d = e->rcv_queue[i];
		struct file_obj *s;
		union inet_addr to;
		socklen_t tl;
		uint8_t src[16];
		int fam, sk;
		ssize_t n;

		addr_canon(src, d->src_addr.data, d->src_addr.len);
		s = find_sender(ctx, src, d->src_port);
		if (s) {
			ret = file_open_obj(ctx, s);
			if (ret < 0)
				return ret;
			fam = ((InetSkEntry *)s->msg)->family;
			if (dgram_dest(e, src, fam, &to, &tl) == 0 &&
			    sendto(s->fd, d->data.data, d->data.len, MSG_DONTWAIT, &to.sa, tl) ==
				    (ssize_t)d->data.len)
				continue;
		}
		sk = temp_sender(src, d->src_port, &fam);
		if (sk < 0) {
			pr_perror("socket %u: cannot create a socket to queue datagram %zu", f->id, i);
			return sk;
		}
		ret = dgram_dest(e, src, fam, &to, &tl);
		n = ret ? -1 : sendto(sk, d->data.data, d->data.len, MSG_DONTWAIT, &to.sa, tl);
		if (n != (ssize_t)d->data.len) {
			pr_err("socket %u: cannot queue datagram %zu again: %s", f->id, i,
			       ret ? strerror(-ret) : strerror(errno));
			close(sk);
			return ret ?: -EIO;
		}
		close(sk);
	}
	return 0;
}

static int tcp_stream_read(struct rst_ctx *ctx, struct file_obj *f, TcpStreamEntry **out)
{
	struct cr_img *img = img_open(&ctx->dir, IMG_TCP_STREAM, f->id, false);
	TcpStreamEntry *t;
	int ret;

	if (!img)
		return -EINVAL;
	ret = img_read_one(img, &tcp_stream_entry__descriptor, (void **)&t);
	if (ret < 0) {
		img_close(img);
		return ret;
	}
	if (t->inq_data.len > INET_MAX_QUEUE || t->outq_data.len > INET_MAX_QUEUE ||
	    (t->has_unsq_len && t->unsq_len > t->outq_data.len) || !t->mss_clamp ||
	    t->mss_clamp > 65535 || (t->has_snd_wscale && t->snd_wscale > 14) ||
	    (t->has_rcv_wscale && t->rcv_wscale > 14)) {
		pr_err("image %s: invalid connection state for socket %u", img->name, f->id);
		img_free_pb(t);
		img_close(img);
		return -EINVAL;
	}
	img_close(img);
	*out = t;
	return 0;
}

static int set_queue_seq(struct file_obj *f, int sk, int queue, uint32_t seq)
{
	if (setsockopt(sk, SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) < 0 ||
	    setsockopt(sk, SOL_TCP, TCP_QUEUE_SEQ, &seq, sizeof(seq)) < 0) {
		pr_perror("socket %u: cannot set the %s sequence number", f->id,
			  queue == TCP_RECV_QUEUE ? "receive" : "send");
		return -errno;
	}
	return 0;
}

static int fill_queue(struct file_obj *f, int sk, int queue, const ProtobufCBinaryData *data)
{
	size_t off = 0, chunk = 65536;

	if (!data->len)
		return 0;
	if (setsockopt(sk, SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) < 0) {
		pr_perror("socket %u: cannot select a queue", f->id);
		return -errno;
	}
	while (off < data->len) {
		size_t len = min_t(size_t, chunk, data->len - off);
		ssize_t n = send(sk, data->data + off, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0) {
			if (chunk > 1024 && (n == 0 || errno == ENOMEM || errno == EAGAIN)) {
				chunk /= 2;
				continue;
			}
			pr_perror("socket %u: cannot put back %zu bytes of the %s queue", f->id,
				  data->len - off, queue == TCP_RECV_QUEUE ? "receive" : "send");
			return n < 0 ? -errno : -EIO;
		}
		off += n;
	}
	return 0;
}

/* The rest of an established connection, once it is bound, in repair mode. */
static int tcp_restore_stream(struct file_obj *f, int sk, TcpStreamEntry *t)
{
	InetSkEntry *e = f->msg;
	struct tcp_repair_opt opts[4];
	unsigned nr = 0;
	union inet_addr to;
	socklen_t tl;
	int v, ret;

	tl = addr_make(&to, e->family, e->dst_addr.data, e->dst_port,
		       e->has_dst_scope_id ? e->dst_scope_id : 0);
	if (connect(sk, &to.sa, tl) < 0) {
		pr_perror("socket %u: cannot connect in repair mode", f->id);
		return -errno;
	}
	if (t->opt_mask & TCPI_OPT_SACK)
		opts[nr++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
	if (t->opt_mask & TCPI_OPT_WSCALE)
		opts[nr++] = (struct tcp_repair_opt){ TCPOPT_WINDOW,
						      t->snd_wscale | (t->rcv_wscale << 16) };
	if (t->opt_mask & TCPI_OPT_TIMESTAMPS)
		opts[nr++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	opts[nr++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, t->mss_clamp };
	if (setsockopt(sk, SOL_TCP, TCP_REPAIR_OPTIONS, opts, nr * sizeof(opts[0])) < 0) {
		pr_perror("socket %u: cannot set the connection's TCP options", f->id);
		return -errno;
	}
	if (t->has_timestamp) {
		v = t->timestamp;
		if (setsockopt(sk, SOL_TCP, TCP_TIMESTAMP, &v, sizeof(v)) < 0) {
			pr_perror("socket %u: cannot set the timestamp", f->id);
			return -errno;
		}
	}
	if ((ret = fill_queue(f, sk, TCP_RECV_QUEUE, &t->inq_data)) ||
	    (ret = fill_queue(f, sk, TCP_SEND_QUEUE, &t->outq_data)))
		return ret;
	if (t->has_snd_wl1 && t->has_snd_wnd && t->has_max_window && t->has_rcv_wnd && t->has_rcv_wup) {
		struct tcp_repair_window w = {
			.snd_wl1 = t->snd_wl1, .snd_wnd = t->snd_wnd, .max_window = t->max_window,
			.rcv_wnd = t->rcv_wnd, .rcv_wup = t->rcv_wup,
		};

		if (setsockopt(sk, SOL_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)) < 0) {
			pr_perror("socket %u: cannot set the window", f->id);
			return -errno;
		}
	}
	v = TCP_NO_QUEUE;
	setsockopt(sk, SOL_TCP, TCP_REPAIR_QUEUE, &v, sizeof(v));
	return 0;
}

/* Listeners on the port of a connection: bound first, as they were. */
static int open_listeners(struct rst_ctx *ctx, struct file_obj *f)
{
	InetSkEntry *e = f->msg;
	int ret;

	for (unsigned i = 0; i < ctx->nr_files; i++) {
		struct file_obj *o = &ctx->files[i];
		InetSkEntry *oe = o->msg;

		if (o == f || o->ops != &inet_fd_ops || oe->proto != IPPROTO_TCP ||
		    oe->state != TCP_LISTEN || oe->src_port != e->src_port)
			continue;
		ret = file_open_obj(ctx, o);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int inet_open(struct rst_ctx *ctx, struct file_obj *f)
{
	InetSkEntry *e = f->msg;
	TcpStreamEntry *t = NULL;
	union inet_addr a;
	socklen_t al;
	char b[64];
	int sk, ret, on = TCP_REPAIR_ON;

	fmt_addr(b, sizeof(b), e->src_addr.data, e->src_addr.len, e->src_port);
	if (e->tcp_repair && ((ret = tcp_stream_read(ctx, f, &t)) || (ret = open_listeners(ctx, f))))
		goto out;
	sk = socket(e->family, e->type | SOCK_CLOEXEC, e->proto);
	if (sk < 0) {
		pr_perror("socket %u: cannot create a %s socket", f->id, family_name(e->family));
		ret = -errno;
		goto out;
	}
	if (e->tcp_repair && setsockopt(sk, SOL_TCP, TCP_REPAIR, &on, sizeof(on)) < 0) {
		pr_perror("socket %u: cannot enter repair mode", f->id);
		ret = -errno;
		close(sk);
		goto out;
	}
	/* Owned by f from here: files_free() closes it if anything fails. */
	f->fd = rst_svc_fd(ctx, sk);
	if (f->fd < 0) {
		ret = f->fd;
		goto out;
	}
	sk = f->fd;
	ret = apply_opts(f, sk, false);
	if (!ret && t)
		ret = set_queue_seq(f, sk, TCP_RECV_QUEUE, t->inq_seq) ?:
		      set_queue_seq(f, sk, TCP_SEND_QUEUE, t->outq_seq);
	if (ret)
		goto out;
	if (e->src_port) {
		al = addr_make(&a, e->family, e->src_addr.data, e->src_port,
			       e->has_scope_id ? e->scope_id : 0);
		if (bind(sk, &a.sa, al) < 0) {
			pr_perror("socket %u: cannot bind to %s", f->id, b);
			ret = -errno;
			goto out;
		}
	}
	if (e->state == TCP_LISTEN && e->proto == IPPROTO_TCP && listen(sk, e->backlog) < 0) {
		pr_perror("socket %u: cannot listen on %s", f->id, b);
		ret = -errno;
		goto out;
	}
	if (e->n_rcv_queue && (ret = restore_dgrams(ctx, f)))
		goto out;
	if (t) {
		ret = tcp_restore_stream(f, sk, t);
		if (ret)
			goto out;
	} else if (e->has_dst_addr && e->proto == IPPROTO_UDP) {
		al = addr_make(&a, e->family, e->dst_addr.data, e->dst_port,
			       e->has_dst_scope_id ? e->dst_scope_id : 0);
		if (connect(sk, &a.sa, al) < 0) {
			pr_perror("socket %u: cannot connect", f->id);
			ret = -errno;
			goto out;
		}
	}
	if (fcntl(sk, F_SETFL, e->flags & (O_NONBLOCK | O_ASYNC)) < 0) {
		pr_perror("socket %u: cannot set file flags 0%o", f->id, e->flags);
		ret = -errno;
	}
out:
	if (t)
		img_free_pb(t);
	return ret;
}

/* The first fd of the first task that holds f. */
static bool first_holder(struct rst_ctx *ctx, struct pstree_item *item, FdEntry *fe)
{
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		ProcessCore *pc = ctx->items[i]->rcore;

		if (!pc)
			continue;
		for (size_t j = 0; j < pc->n_fds; j++)
			if (pc->fds[j]->type == fe->type && pc->fds[j]->id == fe->id)
				return ctx->items[i] == item && pc->fds[j] == fe;
	}
	return false;
}

/* In the task, every socket of the tree exists: the connection may go on. */
static int inet_post_open(struct rst_ctx *ctx, struct pstree_item *item, FdEntry *fe,
			  struct file_obj *f)
{
	InetSkEntry *e = f->msg;
	int off = TCP_REPAIR_OFF;

	if (!e->tcp_repair || !first_holder(ctx, item, fe))
		return 0;
	if (setsockopt(fe->fd, SOL_TCP, TCP_REPAIR, &off, sizeof(off)) < 0) {
		pr_perror("pid %d fd %u: cannot take the connection out of repair mode", item->pid,
			  fe->fd);
		return -errno;
	}
	return apply_opts(f, fe->fd, true);
}

const struct fdtype_ops inet_fd_ops = {
	.type = FD_TYPES__INETSK,
	.name = "inet socket",
	.img = IMG_INETSK,
	.desc = &inet_sk_entry__descriptor,
	.match = inet_match,
	.dump = inet_dump,
	.validate = inet_validate,
	.open = inet_open,
	.post_open = inet_post_open,
};
