/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Network namespace (first slice): links lo and veth, their state, MTU,
 * MAC and addresses, the main table's routes and a few sysctls, read with
 * rtnetlink from a netlink socket opened inside the root's namespace.
 *
 * A veth whose peer is in lxc-cr's namespace is external: the peer's name
 * and the bridge it is enslaved to are recorded, and at restore the pair
 * is created from lxc-cr's side with the inner end put straight into the
 * new namespace (IFLA_NET_NS_FD); --external veth[IN]:OUT[@BR] renames it.
 *
 * Restore builds the namespace before any task exists: lxc-cr unshares a
 * new one, keeps its fd, configures it and goes back. Sockets of the tree
 * are then opened with lxc-cr inside it, and the root is cloned from there,
 * so everything the tree holds is born in its namespace. A failure closes
 * the namespace and deletes the host ends created, naming what failed.
 */
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include "ns/net.h"
#include "ns/ns.h"
#include "restore/restore.h"

#define NL_BUF 32768
#define IFA_SETTABLE (IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_NOPREFIXROUTE | IFA_F_MANAGETEMPADDR)

static const char *const net_sysctls[] = {
	"ipv4/ip_forward",
	"ipv6/conf/all/forwarding",
	"ipv4/conf/all/rp_filter",
};

/* ---------------------------------------------------------------- netlink */

struct nlreq {
	struct nlmsghdr h;
	char buf[4096];
};

static struct rtattr *nl_add(struct nlmsghdr *h, int type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void nl_add_str(struct nlmsghdr *h, int type, const char *s)
{
	nl_add(h, type, s, strlen(s) + 1);
}

static void nl_add_u32(struct nlmsghdr *h, int type, uint32_t v)
{
	nl_add(h, type, &v, sizeof(v));
}

static void nl_end(struct nlmsghdr *h, struct rtattr *nest)
{
	nest->rta_len = (char *)h + h->nlmsg_len - (char *)nest;
}

static int nl_open(void)
{
	int sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (sk < 0)
		pr_perror("cannot open an rtnetlink socket");
	return sk < 0 ? -errno : sk;
}

/* Send one request; for a dump call cb on each answer, else wait for the ack. */
static int nl_talk(int sk, struct nlmsghdr *h, int (*cb)(struct nlmsghdr *, void *), void *arg)
{
	static char buf[NL_BUF];
	static uint32_t seq;
	ssize_t n;

	h->nlmsg_seq = ++seq;
	h->nlmsg_flags |= NLM_F_REQUEST | (cb ? 0 : NLM_F_ACK);
	if (send(sk, h, h->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		n = recv(sk, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *m = (void *)buf; NLMSG_OK(m, (size_t)n); m = NLMSG_NEXT(m, n)) {
			int ret;

			if (m->nlmsg_seq != seq)
				continue;
			if (m->nlmsg_type == NLMSG_DONE)
				return 0;
			if (m->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(m))->error;
			if (cb && (ret = cb(m, arg)))
				return ret;
		}
	}
}

static void parse_attrs(struct rtattr **tb, int max, struct rtattr *a, int len)
{
	memset(tb, 0, sizeof(*tb) * (max + 1));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type <= max)
			tb[a->rta_type] = a;
}

/* ---------------------------------------------------------------- dump */

struct dlink {
	int ifindex;
	int link;		/* IFLA_LINK */
	bool link_outside;	/* IFLA_LINK_NETNSID present */
	NetLink *l;
};

struct dstate {
	NetnsEntry *n;
	struct dlink *links;
	unsigned nr;
	int err;
};

static struct dlink *dlink_find(struct dstate *s, int ifindex)
{
	for (unsigned i = 0; i < s->nr; i++)
		if (s->links[i].ifindex == ifindex)
			return &s->links[i];
	return NULL;
}

static int push(void *arrp, size_t *nr, void *item)
{
	void ***arr = arrp;
	void **n = xrealloc_array(*arr, *nr + 1, sizeof(void *));

	if (!n)
		return -ENOMEM;
	*arr = n;
	n[(*nr)++] = item;
	return 0;
}

static int link_cb(struct nlmsghdr *h, void *arg)
{
	struct dstate *s = arg;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];
	const char *name, *kind = NULL;
	struct dlink *d;
	NetLink *l;

	if (h->nlmsg_type != RTM_NEWLINK)
		return 0;
	parse_attrs(tb, IFLA_MAX, IFLA_RTA(ifi), IFLA_PAYLOAD(h));
	if (!tb[IFLA_IFNAME])
		return -EINVAL;
	name = RTA_DATA(tb[IFLA_IFNAME]);
	if (tb[IFLA_LINKINFO]) {
		parse_attrs(li, IFLA_INFO_MAX, RTA_DATA(tb[IFLA_LINKINFO]), RTA_PAYLOAD(tb[IFLA_LINKINFO]));
		if (li[IFLA_INFO_KIND])
			kind = RTA_DATA(li[IFLA_INFO_KIND]);
	}
	if (ifi->ifi_flags & IFF_LOOPBACK)
		kind = "lo";
	if (!kind || (strcmp(kind, "lo") && strcmp(kind, "veth"))) {
		pr_err("network namespace: link '%s' is a %s; only lo and veth are supported", name,
		       kind ? kind : (ifi->ifi_type == ARPHRD_NONE ? "tunnel" : "device of no known kind"));
		return -ENOTSUP;
	}
	if (tb[IFLA_MASTER]) {
		pr_err("network namespace: link '%s' is enslaved to another link; not supported", name);
		return -ENOTSUP;
	}
	l = xzalloc(sizeof(*l));
	if (!l || push(&s->n->links, &s->n->n_links, l)) {
		free(l);
		return -ENOMEM;
	}
	net_link__init(l);
	l->name = strdup(name);
	l->kind = strdup(kind);
	if (!l->name || !l->kind)
		return -ENOMEM;
	l->up = ifi->ifi_flags & IFF_UP;
	l->mtu = tb[IFLA_MTU] ? *(uint32_t *)RTA_DATA(tb[IFLA_MTU]) : 0;
	if (tb[IFLA_ADDRESS] && strcmp(kind, "lo")) {
		l->has_mac = true;
		l->mac.len = RTA_PAYLOAD(tb[IFLA_ADDRESS]);
		l->mac.data = malloc(l->mac.len);
		if (!l->mac.data)
			return -ENOMEM;
		memcpy(l->mac.data, RTA_DATA(tb[IFLA_ADDRESS]), l->mac.len);
	}
	d = xrealloc_array(s->links, s->nr + 1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	s->links = d;
	d = &s->links[s->nr++];
	d->ifindex = ifi->ifi_index;
	d->link = tb[IFLA_LINK] ? *(int *)RTA_DATA(tb[IFLA_LINK]) : 0;
	d->link_outside = tb[IFLA_LINK_NETNSID] != NULL;
	d->l = l;
	return 0;
}

static int bytes_set(ProtobufCBinaryData *b, const struct rtattr *a)
{
	b->len = RTA_PAYLOAD(a);
	b->data = malloc(b->len ? b->len : 1);
	if (!b->data)
		return -ENOMEM;
	memcpy(b->data, RTA_DATA(a), b->len);
	return 0;
}

static int addr_cb(struct nlmsghdr *h, void *arg)
{
	struct dstate *s = arg;
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	struct rtattr *tb[IFA_MAX + 1], *a;
	struct dlink *d;
	NetAddr *na;

	if (h->nlmsg_type != RTM_NEWADDR)
		return 0;
	parse_attrs(tb, IFA_MAX, IFA_RTA(ifa), IFA_PAYLOAD(h));
	d = dlink_find(s, ifa->ifa_index);
	if (!d)
		return 0;
	/* IPv6 link-local addresses come back by themselves with the link */
	if (ifa->ifa_family == AF_INET6 && ifa->ifa_scope == RT_SCOPE_LINK)
		return 0;
	a = ifa->ifa_family == AF_INET && tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return 0;
	na = xzalloc(sizeof(*na));
	if (!na || push(&d->l->addrs, &d->l->n_addrs, na)) {
		free(na);
		return -ENOMEM;
	}
	net_addr__init(na);
	na->family = ifa->ifa_family;
	na->prefixlen = ifa->ifa_prefixlen;
	na->flags = tb[IFA_FLAGS] ? *(uint32_t *)RTA_DATA(tb[IFA_FLAGS]) : ifa->ifa_flags;
	na->scope = ifa->ifa_scope;
	return bytes_set(&na->addr, a);
}

static int route_cb(struct nlmsghdr *h, void *arg)
{
	struct dstate *s = arg;
	struct rtmsg *rt = NLMSG_DATA(h);
	struct rtattr *tb[RTA_MAX + 1];
	uint32_t table = rt->rtm_table;
	struct dlink *d = NULL;
	NetRoute *r;
	int ret;

	if (h->nlmsg_type != RTM_NEWROUTE)
		return 0;
	parse_attrs(tb, RTA_MAX, RTM_RTA(rt), RTM_PAYLOAD(h));
	if (tb[RTA_TABLE])
		table = *(uint32_t *)RTA_DATA(tb[RTA_TABLE]);
	if (table != RT_TABLE_MAIN || rt->rtm_protocol == RTPROT_KERNEL || (rt->rtm_flags & RTM_F_CLONED))
		return 0;
	if (rt->rtm_type != RTN_UNICAST || tb[RTA_MULTIPATH]) {
		pr_err("network namespace: a route of type %u%s in the main table; only unicast routes are supported",
		       rt->rtm_type, tb[RTA_MULTIPATH] ? " with several next hops" : "");
		return -ENOTSUP;
	}
	if (tb[RTA_OIF] && !(d = dlink_find(s, *(int *)RTA_DATA(tb[RTA_OIF]))))
		return -EINVAL;
	r = xzalloc(sizeof(*r));
	if (!r || push(&s->n->routes, &s->n->n_routes, r)) {
		free(r);
		return -ENOMEM;
	}
	net_route__init(r);
	r->family = rt->rtm_family;
	r->dst_len = rt->rtm_dst_len;
	r->scope = rt->rtm_scope;
	r->protocol = rt->rtm_protocol;
	r->type = rt->rtm_type;
	if (d && !(r->oif = strdup(d->l->name)))
		return -ENOMEM;
	if (tb[RTA_PRIORITY]) {
		r->has_priority = true;
		r->priority = *(uint32_t *)RTA_DATA(tb[RTA_PRIORITY]);
	}
	if (tb[RTA_DST] && (ret = bytes_set(&r->dst, tb[RTA_DST])))
		return ret;
	r->has_dst = tb[RTA_DST] != NULL;
	if (tb[RTA_GATEWAY] && (ret = bytes_set(&r->gateway, tb[RTA_GATEWAY])))
		return ret;
	r->has_gateway = tb[RTA_GATEWAY] != NULL;
	if (tb[RTA_PREFSRC] && (ret = bytes_set(&r->prefsrc, tb[RTA_PREFSRC])))
		return ret;
	r->has_prefsrc = tb[RTA_PREFSRC] != NULL;
	return 0;
}

static int nl_dump(int sk, int type, int family, int (*cb)(struct nlmsghdr *, void *), void *arg)
{
	struct nlreq req = { .h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct rtgenmsg)),
				    .nlmsg_type = type, .nlmsg_flags = NLM_F_DUMP } };

	((struct rtgenmsg *)NLMSG_DATA(&req.h))->rtgen_family = family;
	if (type == RTM_GETLINK) {
		req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
		((struct ifinfomsg *)NLMSG_DATA(&req.h))->ifi_family = family;
	} else if (type == RTM_GETROUTE) {
		req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
		((struct rtmsg *)NLMSG_DATA(&req.h))->rtm_family = family;
	}
	return nl_talk(sk, &req.h, cb, arg);
}

static int read_sysctls(NetnsEntry *n)
{
	for (unsigned i = 0; i < sizeof(net_sysctls) / sizeof(net_sysctls[0]); i++) {
		char path[128];
		char *v;
		NetSysctl *sc;

		snprintf(path, sizeof(path), "/proc/sys/net/%s", net_sysctls[i]);
		v = read_file_at(AT_FDCWD, path, NULL);
		if (!v)
			continue;	/* no IPv6 here */
		v[strcspn(v, "\n")] = '\0';
		sc = xzalloc(sizeof(*sc));
		if (!sc || push(&n->sysctls, &n->n_sysctls, sc)) {
			free(sc);
			free(v);
			return -ENOMEM;
		}
		net_sysctl__init(sc);
		sc->name = strdup(net_sysctls[i]);
		sc->value = v;
		if (!sc->name)
			return -ENOMEM;
	}
	return 0;
}

/* In lxc-cr's namespace: the host end of an external veth. */
struct host_peer {
	int want_index;		/* our end's IFLA_LINK */
	int want_link;		/* our end's index */
	const char *inner;
	char name[IFNAMSIZ];
	int master;
	unsigned flags;
	int err;
};

static int host_link_cb(struct nlmsghdr *h, void *arg)
{
	struct host_peer *p = arg;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *tb[IFLA_MAX + 1];

	if (h->nlmsg_type != RTM_NEWLINK)
		return 0;
	parse_attrs(tb, IFLA_MAX, IFLA_RTA(ifi), IFLA_PAYLOAD(h));
	if (ifi->ifi_index != p->want_index || !tb[IFLA_IFNAME] || !tb[IFLA_LINK] ||
	    *(int *)RTA_DATA(tb[IFLA_LINK]) != p->want_link)
		return 0;
	snprintf(p->name, sizeof(p->name), "%s", (char *)RTA_DATA(tb[IFLA_IFNAME]));
	p->master = tb[IFLA_MASTER] ? *(int *)RTA_DATA(tb[IFLA_MASTER]) : 0;
	p->flags = ifi->ifi_flags;
	return 0;
}

static int find_host_peer(int hsk, struct dlink *d, int peer_index, NetLink *l)
{
	struct host_peer p = { .want_index = peer_index, .want_link = d->ifindex };
	char br[IFNAMSIZ];
	int ret;

	/* the link of lxc-cr's namespace at our IFLA_LINK whose IFLA_LINK is us */
	ret = nl_dump(hsk, RTM_GETLINK, AF_UNSPEC, host_link_cb, &p);
	if (ret)
		return ret;
	if (!p.name[0]) {
		pr_err("network namespace: the peer of veth '%s' is neither inside nor in lxc-cr's network namespace; not supported",
		       l->name);
		return -ENOTSUP;
	}
	l->ext_name = strdup(p.name);
	if (!l->ext_name)
		return -ENOMEM;
	if (p.master) {
		if (!if_indextoname(p.master, br)) {
			pr_perror("veth '%s': cannot name the master of its peer '%s'", l->name, p.name);
			return -errno;
		}
		if (!(l->ext_master = strdup(br)))
			return -ENOMEM;
	}
	return 0;
}

int net_dump(pid_t root, NsEntry *e)
{
	struct dstate s = { 0 };
	char path[64];
	_cleanup_close_ int own = -1, fd = -1, sk = -1, hsk = -1;
	int ret;

	s.n = xzalloc(sizeof(*s.n));
	if (!s.n)
		return -ENOMEM;
	netns_entry__init(s.n);
	e->net = s.n;
	own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	hsk = nl_open();
	if (own < 0 || fd < 0 || hsk < 0) {
		pr_perror("pid %d: cannot open its network namespace", root);
		return -EIO;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		pr_perror("pid %d: cannot enter its network namespace", root);
		return -errno;
	}
	sk = nl_open();
	ret = sk < 0 ? sk : read_sysctls(s.n);
	if (setns(own, CLONE_NEWNET) < 0) {
		pr_perror("cannot go back to lxc-cr's network namespace");
		abort();
	}
	if (!ret)
		ret = nl_dump(sk, RTM_GETLINK, AF_UNSPEC, link_cb, &s);
	if (!ret)
		ret = nl_dump(sk, RTM_GETADDR, AF_UNSPEC, addr_cb, &s);
	if (!ret)
		ret = nl_dump(sk, RTM_GETROUTE, AF_INET, route_cb, &s);
	if (!ret)
		ret = nl_dump(sk, RTM_GETROUTE, AF_INET6, route_cb, &s);
	for (unsigned i = 0; !ret && i < s.nr; i++) {
		struct dlink *d = &s.links[i], *p;

		if (strcmp(d->l->kind, "veth"))
			continue;
		if (d->link_outside) {
			ret = find_host_peer(hsk, d, d->link, d->l);
		} else if ((p = dlink_find(&s, d->link))) {
			if (!(d->l->peer = strdup(p->l->name)))
				ret = -ENOMEM;
		} else {
			pr_err("network namespace: veth '%s' has no peer", d->l->name);
			ret = -ENOTSUP;
		}
	}
	if (ret && ret != -ENOTSUP && ret != -ENOMEM)
		pr_err("pid %d: cannot read its network namespace: %s", root, strerror(-ret));
	if (!ret)
		pr_info("network namespace: %zu links, %zu routes", s.n->n_links, s.n->n_routes);
	free(s.links);
	return ret;
}

/* ---------------------------------------------------------------- dump: lock */
/*
 * From the moment an established connection is read in repair mode until the
 * tree is gone, nothing from outside may reach the tree's namespace: a
 * segment arriving after a socket's queues were read is still acknowledged
 * by the kernel and then lost with the dumped socket (its sender never sends
 * it again: the restored connection stalls), and one arriving after the
 * sockets closed, before the namespace is gone, is answered with a RST. So
 * the host ends of the namespace's external veths are set down, in lxc-cr's
 * namespace, before the first connection is read; the peer retransmits to
 * the restored tree. If the tree goes on, they are set up again.
 */
static char (*locked)[IFNAMSIZ];
static unsigned nr_locked;

static void req_link(struct nlreq *r, int type, int flags, int index);

struct lock_links {
	int *index, *link;	/* veths whose peer is in another namespace */
	unsigned nr;
	int err;
};

static int lock_link_cb(struct nlmsghdr *h, void *arg)
{
	struct lock_links *s = arg;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *tb[IFLA_MAX + 1];
	int *a, *b;

	if (h->nlmsg_type != RTM_NEWLINK)
		return 0;
	parse_attrs(tb, IFLA_MAX, IFLA_RTA(ifi), IFLA_PAYLOAD(h));
	if (!tb[IFLA_LINK] || !tb[IFLA_LINK_NETNSID])
		return 0;
	a = xrealloc_array(s->index, s->nr + 1, sizeof(int));
	if (a)
		s->index = a;
	b = xrealloc_array(s->link, s->nr + 1, sizeof(int));
	if (b)
		s->link = b;
	if (!a || !b)
		return -ENOMEM;
	s->index[s->nr] = ifi->ifi_index;
	s->link[s->nr++] = *(int *)RTA_DATA(tb[IFLA_LINK]);
	return 0;
}

static int set_up(int hsk, const char *name, bool up)
{
	struct nlreq r;
	struct ifinfomsg *ifi;

	req_link(&r, RTM_NEWLINK, 0, 0);
	ifi = NLMSG_DATA(&r.h);
	nl_add_str(&r.h, IFLA_IFNAME, name);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return nl_talk(hsk, &r.h, NULL, NULL);
}

int net_dump_lock(int sk)
{
	struct lock_links s = { 0 };
	_cleanup_close_ int own = -1, ns = -1, isk = -1, hsk = -1;
	struct stat a, b;
	int ret = 0;

	ns = ioctl(sk, SIOCGSKNS);
	own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns < 0 || own < 0 || fstat(ns, &a) < 0 || fstat(own, &b) < 0) {
		pr_perror("cannot find a connection's network namespace");
		return -errno;
	}
	if (a.st_ino == b.st_ino && a.st_dev == b.st_dev)
		return 0;	/* lxc-cr's own: nothing to lock from outside */
	if (setns(ns, CLONE_NEWNET) < 0) {
		pr_perror("cannot enter a connection's network namespace");
		return -errno;
	}
	isk = nl_open();
	if (setns(own, CLONE_NEWNET) < 0) {
		pr_perror("cannot go back to lxc-cr's network namespace");
		abort();
	}
	hsk = nl_open();
	if (isk < 0 || hsk < 0)
		return -EIO;
	ret = nl_dump(isk, RTM_GETLINK, AF_UNSPEC, lock_link_cb, &s);
	for (unsigned i = 0; !ret && i < s.nr; i++) {
		struct host_peer p = { .want_index = s.link[i], .want_link = s.index[i] };
		char (*l)[IFNAMSIZ];
		bool known = false;

		ret = nl_dump(hsk, RTM_GETLINK, AF_UNSPEC, host_link_cb, &p);
		if (ret || !p.name[0] || !(p.flags & IFF_UP))
			continue;
		for (unsigned j = 0; j < nr_locked; j++)
			known |= !strcmp(locked[j], p.name);
		if (known)
			continue;
		l = xrealloc_array(locked, nr_locked + 1, sizeof(*locked));
		if (!l) {
			ret = -ENOMEM;
			break;
		}
		locked = l;
		ret = set_up(hsk, p.name, false);
		if (ret) {
			pr_err("network namespace: cannot set the host end '%s' down while connections "
			       "are read: %s", p.name, strerror(-ret));
			break;
		}
		snprintf(locked[nr_locked++], IFNAMSIZ, "%s", p.name);
		pr_info("network namespace: host end '%s' down until the tree is gone", p.name);
	}
	if (ret && ret != -ENOMEM)
		pr_err("cannot lock a connection's network namespace: %s", strerror(-ret));
	free(s.index);
	free(s.link);
	return ret;
}

void net_dump_unlock(void)
{
	_cleanup_close_ int hsk = nr_locked ? nl_open() : -1;

	for (unsigned i = 0; hsk >= 0 && i < nr_locked; i++) {
		int ret = set_up(hsk, locked[i], true);

		if (ret)
			pr_err("network namespace: cannot set the host end '%s' up again: %s",
			       locked[i], strerror(-ret));
	}
	net_dump_lock_fini();
}

void net_dump_lock_fini(void)
{
	free(locked);
	locked = NULL;
	nr_locked = 0;
}

/* ---------------------------------------------------------------- restore */

static struct {
	int own;		/* lxc-cr's namespace */
	int net;		/* the tree's */
	char (*created)[IFNAMSIZ];	/* host ends created */
	unsigned nr_created;
	bool inside;
} rnet = { -1, -1, NULL, 0, false };

int net_validate(const NetnsEntry *n)
{
	for (size_t i = 0; i < n->n_links; i++) {
		const NetLink *l = n->links[i];

		if (strlen(l->name) >= IFNAMSIZ || (strcmp(l->kind, "lo") && strcmp(l->kind, "veth")) ||
		    (l->has_mac && l->mac.len > 32) || (l->peer && strlen(l->peer) >= IFNAMSIZ) ||
		    (l->ext_name && strlen(l->ext_name) >= IFNAMSIZ) ||
		    (l->ext_master && strlen(l->ext_master) >= IFNAMSIZ)) {
			pr_err("image ns.img: link '%s' is invalid", l->name);
			return -EINVAL;
		}
		for (size_t k = 0; k < l->n_addrs; k++)
			if (l->addrs[k]->addr.len != (l->addrs[k]->family == AF_INET ? 4u : 16u)) {
				pr_err("image ns.img: an address of link '%s' is invalid", l->name);
				return -EINVAL;
			}
	}
	for (size_t i = 0; i < n->n_sysctls; i++) {
		bool known = false;

		for (unsigned k = 0; k < sizeof(net_sysctls) / sizeof(net_sysctls[0]); k++)
			known |= !strcmp(n->sysctls[i]->name, net_sysctls[k]);
		if (!known || strlen(n->sysctls[i]->value) > 16) {
			pr_err("image ns.img: sysctl '%s' is invalid", n->sysctls[i]->name);
			return -EINVAL;
		}
	}
	return 0;
}

/* Where the host end of an external veth goes: --external, else its old name. */
static int ext_target(const struct crc_restore_opts *o, const NetLink *l, char out[IFNAMSIZ],
		      char br[IFNAMSIZ])
{
	snprintf(out, IFNAMSIZ, "%s", l->ext_name);
	snprintf(br, IFNAMSIZ, "%s", l->ext_master ? l->ext_master : "");
	for (unsigned i = 0; i < o->nr_externals; i++) {
		const char *s = o->externals[i], *end, *at;
		size_t n = strlen(l->name);

		if (strncmp(s, "veth[", 5) || strncmp(s + 5, l->name, n) || strncmp(s + 5 + n, "]:", 2))
			continue;
		s += 5 + n + 2;
		at = strchr(s, '@');
		end = at ? at : s + strlen(s);
		if (end == s || end - s >= IFNAMSIZ || (at && (!at[1] || strlen(at + 1) >= IFNAMSIZ))) {
			pr_err("--external %s: invalid names", o->externals[i]);
			return -EINVAL;
		}
		snprintf(out, IFNAMSIZ, "%.*s", (int)(end - s), s);
		if (at)
			snprintf(br, IFNAMSIZ, "%s", at + 1);
	}
	return 0;
}

static void req_link(struct nlreq *r, int type, int flags, int index)
{
	struct ifinfomsg *ifi;

	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(sizeof(*ifi));
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = flags;
	ifi = NLMSG_DATA(&r->h);
	ifi->ifi_index = index;
}

/* A veth pair named name/peer; the peer goes to netns_fd if >= 0. */
static int create_veth(int sk, const char *name, const char *peer, int netns_fd, const NetLink *inner)
{
	struct nlreq r;
	struct rtattr *li, *data, *pe;
	struct ifinfomsg *pifi;

	req_link(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	nl_add_str(&r.h, IFLA_IFNAME, name);
	if (inner->mtu)
		nl_add_u32(&r.h, IFLA_MTU, inner->mtu);
	li = nl_add(&r.h, IFLA_LINKINFO, NULL, 0);
	nl_add_str(&r.h, IFLA_INFO_KIND, "veth");
	data = nl_add(&r.h, IFLA_INFO_DATA, NULL, 0);
	pe = nl_add(&r.h, VETH_INFO_PEER, NULL, sizeof(*pifi));
	pifi = RTA_DATA(pe);
	memset(pifi, 0, sizeof(*pifi));
	nl_add_str(&r.h, IFLA_IFNAME, peer);
	if (netns_fd >= 0)
		nl_add_u32(&r.h, IFLA_NET_NS_FD, netns_fd);
	nl_end(&r.h, pe);
	nl_end(&r.h, data);
	nl_end(&r.h, li);
	return nl_talk(sk, &r.h, NULL, NULL);
}

static int set_link(int sk, const NetLink *l, int master, bool host_end)
{
	struct nlreq r;
	struct ifinfomsg *ifi;

	req_link(&r, RTM_NEWLINK, 0, 0);
	ifi = NLMSG_DATA(&r.h);
	nl_add_str(&r.h, IFLA_IFNAME, host_end ? l->ext_name : l->name);
	if (!host_end && l->has_mac && l->mac.len)
		nl_add(&r.h, IFLA_ADDRESS, l->mac.data, l->mac.len);
	if (l->mtu && !host_end)
		nl_add_u32(&r.h, IFLA_MTU, l->mtu);
	if (master)
		nl_add_u32(&r.h, IFLA_MASTER, master);
	/* a host end stays down until the tree is restored: see net_restore_up() */
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = l->up && !host_end ? IFF_UP : 0;
	return nl_talk(sk, &r.h, NULL, NULL);
}

static int add_addr(int sk, int index, const NetAddr *a)
{
	struct nlreq r;
	struct ifaddrmsg *ifa;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(*ifa));
	r.h.nlmsg_type = RTM_NEWADDR;
	r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifa = NLMSG_DATA(&r.h);
	ifa->ifa_family = a->family;
	ifa->ifa_prefixlen = a->prefixlen;
	ifa->ifa_scope = a->scope;
	ifa->ifa_index = index;
	ifa->ifa_flags = a->flags & IFA_SETTABLE & 0xff;
	if (a->family == AF_INET)
		nl_add(&r.h, IFA_LOCAL, a->addr.data, a->addr.len);
	nl_add(&r.h, IFA_ADDRESS, a->addr.data, a->addr.len);
	nl_add_u32(&r.h, IFA_FLAGS, a->flags & IFA_SETTABLE);
	return nl_talk(sk, &r.h, NULL, NULL);
}

static int add_route(int sk, const NetRoute *rt)
{
	struct nlreq r;
	struct rtmsg *m;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(*m));
	r.h.nlmsg_type = RTM_NEWROUTE;
	r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	m = NLMSG_DATA(&r.h);
	m->rtm_family = rt->family;
	m->rtm_dst_len = rt->dst_len;
	m->rtm_table = RT_TABLE_MAIN;
	m->rtm_protocol = rt->protocol;
	m->rtm_scope = rt->scope;
	m->rtm_type = rt->type;
	if (rt->has_dst)
		nl_add(&r.h, RTA_DST, rt->dst.data, rt->dst.len);
	if (rt->has_gateway)
		nl_add(&r.h, RTA_GATEWAY, rt->gateway.data, rt->gateway.len);
	if (rt->has_prefsrc)
		nl_add(&r.h, RTA_PREFSRC, rt->prefsrc.data, rt->prefsrc.len);
	if (rt->has_priority)
		nl_add_u32(&r.h, RTA_PRIORITY, rt->priority);
	if (rt->oif) {
		unsigned idx = if_nametoindex(rt->oif);

		if (!idx)
			return -ENODEV;
		nl_add_u32(&r.h, RTA_OIF, idx);
	}
	return nl_talk(sk, &r.h, NULL, NULL);
}

static int write_sysctl(const NetSysctl *s)
{
	char path[128];
	_cleanup_close_ int fd = -1;
	size_t n = strlen(s->value);

	snprintf(path, sizeof(path), "/proc/sys/net/%s", s->name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, s->value, n) != (ssize_t)n) {
		pr_perror("network namespace: cannot set %s to %s", path, s->value);
		return -errno;
	}
	return 0;
}

/* Inside the new namespace: its links, addresses, routes and sysctls. */
static int configure_inside(NetnsEntry *n)
{
	_cleanup_close_ int sk = nl_open();
	int ret;

	if (sk < 0)
		return sk;
	for (size_t i = 0; i < n->n_links; i++) {
		NetLink *l = n->links[i];

		/* a pair with both ends inside: created once, by its first end */
		if (!l->peer || if_nametoindex(l->name) || if_nametoindex(l->peer))
			continue;
		if ((ret = create_veth(sk, l->name, l->peer, -1, l))) {
			pr_err("network namespace: cannot create veth pair '%s'/'%s': %s", l->name,
			       l->peer, strerror(-ret));
			return ret;
		}
	}
	for (size_t i = 0; i < n->n_links; i++) {
		NetLink *l = n->links[i];
		unsigned idx;

		if ((ret = set_link(sk, l, 0, false))) {
			pr_err("network namespace: cannot set up link '%s': %s", l->name, strerror(-ret));
			return ret;
		}
		idx = if_nametoindex(l->name);
		for (size_t k = 0; k < l->n_addrs; k++) {
			ret = add_addr(sk, idx, l->addrs[k]);
			/* lo's own addresses came back with it */
			if (ret && ret != -EEXIST) {
				pr_err("network namespace: cannot add an address to link '%s': %s",
				       l->name, strerror(-ret));
				return ret;
			}
		}
	}
	for (size_t i = 0; i < n->n_routes; i++) {
		ret = add_route(sk, n->routes[i]);
		if (ret && ret != -EEXIST) {
			pr_err("network namespace: cannot add route %zu (via link '%s'): %s", i,
			       n->routes[i]->oif ? n->routes[i]->oif : "none", strerror(-ret));
			return ret;
		}
	}
	for (size_t i = 0; i < n->n_sysctls; i++)
		if ((ret = write_sysctl(n->sysctls[i])))
			return ret;
	return 0;
}

static int del_link(int sk, const char *name)
{
	struct nlreq r;

	req_link(&r, RTM_DELLINK, 0, 0);
	nl_add_str(&r.h, IFLA_IFNAME, name);
	return nl_talk(sk, &r.h, NULL, NULL);
}

int net_restore_prepare(struct rst_ctx *ctx, NetnsEntry *n)
{
	_cleanup_close_ int hsk = -1;
	int ret;

	/* every name the host ends take must be free before anything exists */
	for (size_t i = 0; i < n->n_links; i++) {
		char out[IFNAMSIZ], br[IFNAMSIZ];

		if (!n->links[i]->ext_name)
			continue;
		if ((ret = ext_target(ctx->opts, n->links[i], out, br)))
			return ret;
		if (if_nametoindex(out)) {
			pr_err("network namespace: the host end '%s' of veth '%s' already exists on the host",
			       out, n->links[i]->name);
			return -EEXIST;
		}
		if (br[0] && !if_nametoindex(br)) {
			pr_err("network namespace: bridge '%s' for veth '%s' does not exist on the host", br,
			       n->links[i]->name);
			return -ENODEV;
		}
	}
	rnet.created = xzalloc(sizeof(*rnet.created) * (n->n_links + 1));
	rnet.own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	hsk = nl_open();
	if (!rnet.created || rnet.own < 0 || hsk < 0)
		return -ENOMEM;
	if ((ret = ns_unshare(ctx, CLONE_NEWNET)))
		return ret;
	rnet.inside = true;
	rnet.net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (rnet.net < 0)
		return -errno;
	if ((ret = net_leave()))
		return ret;
	rnet.own = rst_svc_fd(ctx, rnet.own);
	rnet.net = rst_svc_fd(ctx, rnet.net);
	for (size_t i = 0; i < n->n_links; i++) {
		NetLink *l = n->links[i];
		char out[IFNAMSIZ], br[IFNAMSIZ];
		char *saved = l->ext_name;

		if (!l->ext_name)
			continue;
		ext_target(ctx->opts, l, out, br);
		ret = create_veth(hsk, out, l->name, rnet.net, l);
		if (ret) {
			pr_err("network namespace: cannot create veth '%s' with its host end '%s': %s",
			       l->name, out, strerror(-ret));
			return ret;
		}
		snprintf(rnet.created[rnet.nr_created++], IFNAMSIZ, "%s", out);
		l->ext_name = out;
		ret = set_link(hsk, l, br[0] ? (int)if_nametoindex(br) : 0, true);
		l->ext_name = saved;
		if (ret) {
			pr_err("network namespace: cannot set up '%s'%s%s: %s", out,
			       br[0] ? " on bridge " : "", br, strerror(-ret));
			return ret;
		}
	}
	if ((ret = net_enter()))
		return ret;
	ret = configure_inside(n);
	if (net_leave() < 0)
		abort();
	return ret;
}

/*
 * Once every task and socket of the tree is restored: the host ends come up.
 * Before, a segment a peer retransmits would find the namespace without its
 * connection and be answered with a RST.
 */
int net_restore_up(void)
{
	_cleanup_close_ int hsk = rnet.nr_created ? nl_open() : -1;

	for (unsigned i = 0; i < rnet.nr_created; i++) {
		int ret = hsk < 0 ? hsk : set_up(hsk, rnet.created[i], true);

		if (ret) {
			pr_err("network namespace: cannot bring up the host end '%s': %s",
			       rnet.created[i], strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int net_enter(void)
{
	if (rnet.net < 0)
		return 0;
	if (setns(rnet.net, CLONE_NEWNET) < 0) {
		pr_perror("cannot enter the tree's network namespace");
		return -errno;
	}
	rnet.inside = true;
	return 0;
}

int net_leave(void)
{
	if (!rnet.inside)
		return 0;
	if (setns(rnet.own, CLONE_NEWNET) < 0) {
		pr_perror("cannot go back to lxc-cr's network namespace");
		return -errno;
	}
	rnet.inside = false;
	return 0;
}

void net_restore_fini(bool failed)
{
	if (net_leave() < 0)
		abort();
	if (failed && rnet.nr_created) {
		_cleanup_close_ int sk = nl_open();

		for (unsigned i = 0; sk >= 0 && i < rnet.nr_created; i++)
			if (del_link(sk, rnet.created[i]) && if_nametoindex(rnet.created[i]))
				pr_err("network namespace: cannot delete '%s' created on the host",
				       rnet.created[i]);
	}
	if (rnet.net >= 0)
		close(rnet.net);
	if (rnet.own >= 0)
		close(rnet.own);
	free(rnet.created);
	rnet.created = NULL;
	rnet.nr_created = 0;
	rnet.net = rnet.own = -1;
}
