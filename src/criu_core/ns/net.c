/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Network namespace: links lo, veth and macvlan with their state, MTU, MAC
 * and addresses; the routes of every table, the policy rules, permanent
 * neighbour entries, and the sysctls under net/ a container changes
 * (net_sysctls, conf_keys), read with rtnetlink from a netlink socket opened
 * inside the root's namespace.
 *
 * A veth whose peer is in lxc-cr's namespace is external: the peer's name
 * and the bridge it is enslaved to are recorded, and at restore the pair
 * is created from lxc-cr's side with the inner end put straight into the
 * new namespace (IFLA_NET_NS_FD); --external veth[IN]:OUT[@BR] renames it.
 * A macvlan whose lower link is in lxc-cr's namespace is external the same
 * way: the lower link's name is recorded and the macvlan is created on it
 * straight into the new namespace; --external macvlan[IN]:HOSTDEV names
 * another lower link. A macvlan on a link of the tree's namespace is made
 * inside, after the veth pairs.
 *
 * Restore builds the namespace before any task exists: lxc-cr unshares a
 * new one, keeps its fd, configures it and goes back. Sockets of the tree
 * are then opened with lxc-cr inside it, and the root is cloned from there,
 * so everything the tree holds is born in its namespace. Inside, in order:
 * veth pairs and macvlans on inner links; the global sysctls, then conf/all
 * and conf/default; per link its MAC and MTU, its conf/LINK sysctls, up,
 * addresses; routes (again while some that failed could follow others);
 * the rules (the namespace's default ones are replaced); neighbours.
 * A failure closes the namespace and deletes the host ends created, naming
 * what failed. Every count, size and name read from the image is bounded
 * in net_validate() before anything is created.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <linux/fib_rules.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include "fault.h"
#include "ns/net.h"
#include "ns/ns.h"
#include "restore/restore.h"

#define NL_BUF 65536
#define IFA_SETTABLE (IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_NOPREFIXROUTE | IFA_F_MANAGETEMPADDR)

/* Bounds of what an image may hold. */
#define NET_MAX_LINKS	1024
#define NET_MAX_ADDRS	4096	/* per link */
#define NET_MAX_ROUTES	65536
#define NET_MAX_RULES	4096
#define NET_MAX_NEIGHS	65536
#define NET_MAX_SYSCTLS	65536
#define NET_MAX_NEXTHOPS	32
#define NET_MAX_RULE_ATTRS	32
#define NET_MAX_SYSCTL_VAL	256

#ifndef MACVLAN_FLAG_NODST
#define MACVLAN_FLAG_NODST 2
#endif
/* rule selectors of kernels newer than these headers (6.15+) */
#define FRA_DSCP_		25
#define FRA_FLOWLABEL_		26
#define FRA_FLOWLABEL_MASK_	27
#define FRA_SPORT_MASK_		28
#define FRA_DPORT_MASK_		29
#define FRA_DSCP_MASK_		30

/* Global sysctls under /proc/sys/net/ a container sets (per namespace). */
static const char *const net_sysctls[] = {
	"ipv4/ip_forward",
	"ipv4/ip_local_port_range",
	"ipv4/ip_local_reserved_ports",
	"ipv4/ping_group_range",
	"ipv4/ip_default_ttl",
	"ipv4/ip_nonlocal_bind",
	"ipv4/ip_unprivileged_port_start",
	"ipv4/ip_no_pmtu_disc",
	"ipv4/icmp_echo_ignore_all",
	"ipv4/icmp_echo_ignore_broadcasts",
	"ipv4/icmp_ratelimit",
	"ipv4/tcp_syncookies",
	"ipv4/tcp_timestamps",
	"ipv4/tcp_sack",
	"ipv4/tcp_window_scaling",
	"ipv4/tcp_ecn",
	"ipv4/tcp_keepalive_time",
	"ipv4/tcp_keepalive_intvl",
	"ipv4/tcp_keepalive_probes",
	"ipv4/tcp_fin_timeout",
	"ipv4/tcp_tw_reuse",
	"ipv4/tcp_max_syn_backlog",
	"ipv4/tcp_mtu_probing",
	"ipv4/tcp_rmem",
	"ipv4/tcp_wmem",
	"ipv4/tcp_retries2",
	"ipv4/tcp_syn_retries",
	"ipv4/tcp_synack_retries",
	"ipv4/tcp_fastopen",
	"ipv4/tcp_slow_start_after_idle",
	"ipv4/udp_rmem_min",
	"ipv4/udp_wmem_min",
	"ipv6/bindv6only",
	"ipv6/ip_nonlocal_bind",
	"core/somaxconn",
	"unix/max_dgram_qlen",
};

/* Per-interface keys, under ipv4/conf/DEV/ and ipv6/conf/DEV/ for DEV all,
 * default and each link. */
static const char *const conf4_keys[] = {
	"forwarding", "rp_filter", "accept_redirects", "send_redirects", "secure_redirects",
	"accept_source_route", "proxy_arp", "arp_ignore", "arp_announce", "arp_filter",
	"arp_accept", "accept_local", "route_localnet", "log_martians", "src_valid_mark",
};
static const char *const conf6_keys[] = {
	"forwarding", "accept_ra", "accept_ra_defrtr", "accept_ra_pinfo", "accept_redirects",
	"autoconf", "disable_ipv6", "accept_dad", "dad_transmits", "use_tempaddr", "hop_limit",
	"router_solicitations", "accept_source_route", "proxy_ndp", "ignore_routes_with_linkdown",
};

/* ---------------------------------------------------------------- netlink */

struct nlreq {
	struct nlmsghdr h;
	char buf[16384];
};

/* nl_add() past the end of a request: the request is refused, not sent */
static bool nl_overflow;
static char nl_spare[NL_BUF];

static struct rtattr *nl_add(struct nlreq *r, int type, const void *data, size_t len)
{
	struct nlmsghdr *h = &r->h;
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(h->nlmsg_len));

	if (NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(RTA_LENGTH(len)) > sizeof(struct nlreq) ||
	    len > sizeof(nl_spare) - RTA_LENGTH(0)) {
		nl_overflow = true;
		return (struct rtattr *)nl_spare;
	}
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len && data)
		memcpy(RTA_DATA(a), data, len);
	else if (len)
		memset(RTA_DATA(a), 0, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void nl_add_str(struct nlreq *r, int type, const char *s)
{
	nl_add(r, type, s, strlen(s) + 1);
}

static void nl_add_u32(struct nlreq *r, int type, uint32_t v)
{
	nl_add(r, type, &v, sizeof(v));
}

static void nl_end(struct nlreq *r, struct rtattr *nest)
{
	if ((char *)nest != nl_spare)
		nest->rta_len = (char *)r + r->h.nlmsg_len - (char *)nest;
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

	if (nl_overflow) {
		nl_overflow = false;
		return -EMSGSIZE;
	}
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

static uint32_t rta_u32(const struct rtattr *a)
{
	uint32_t v = 0;

	memcpy(&v, RTA_DATA(a), min_t(size_t, RTA_PAYLOAD(a), sizeof(v)));
	return v;
}

static void req_init(struct nlreq *r, int type, int flags, size_t hdr)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(hdr);
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = flags;
}

/* "10.0.0.0/8" and the like, for messages */
static const char *addr_str(uint32_t family, const ProtobufCBinaryData *b, bool has, uint32_t len,
			    char *out, size_t size)
{
	char a[INET6_ADDRSTRLEN] = "default";

	if (has && b->len == (family == AF_INET ? 4u : 16u))
		inet_ntop(family, b->data, a, sizeof(a));
	snprintf(out, size, "%s/%u", a, len);
	return out;
}

/* ---------------------------------------------------------------- dump */

struct dlink {
	int ifindex;
	int link;		/* IFLA_LINK */
	int link_nsid;		/* IFLA_LINK_NETNSID, -1 if absent */
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

static int bytes_set(ProtobufCBinaryData *b, const struct rtattr *a)
{
	b->len = RTA_PAYLOAD(a);
	b->data = malloc(b->len ? b->len : 1);
	if (!b->data)
		return -ENOMEM;
	memcpy(b->data, RTA_DATA(a), b->len);
	return 0;
}

static int macvlan_info(NetLink *l, struct rtattr *data)
{
	struct rtattr *tb[IFLA_MACVLAN_MAX + 1];

	l->has_macvlan_mode = true;
	l->macvlan_mode = MACVLAN_MODE_VEPA;
	l->has_macvlan_flags = true;
	if (!data)
		return 0;
	parse_attrs(tb, IFLA_MACVLAN_MAX, RTA_DATA(data), RTA_PAYLOAD(data));
	if (tb[IFLA_MACVLAN_MODE])
		l->macvlan_mode = rta_u32(tb[IFLA_MACVLAN_MODE]);
	if (tb[IFLA_MACVLAN_FLAGS])
		l->macvlan_flags = *(uint16_t *)RTA_DATA(tb[IFLA_MACVLAN_FLAGS]);
	if (l->macvlan_mode == MACVLAN_MODE_SOURCE) {
		pr_err("network namespace: macvlan '%s' is in source mode; not supported", l->name);
		return -ENOTSUP;
	}
	return 0;
}

static int link_cb(struct nlmsghdr *h, void *arg)
{
	struct dstate *s = arg;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1] = { 0 };
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
	if (!kind || (strcmp(kind, "lo") && strcmp(kind, "veth") && strcmp(kind, "macvlan"))) {
		pr_err("network namespace: link '%s' is a %s; only lo, veth and macvlan are supported", name,
		       kind ? kind : (ifi->ifi_type == ARPHRD_NONE ? "tunnel" : "device of no known kind"));
		return -ENOTSUP;
	}
	if (tb[IFLA_MASTER]) {
		pr_err("network namespace: link '%s' is enslaved to another link; not supported", name);
		return -ENOTSUP;
	}
	if (s->n->n_links >= NET_MAX_LINKS) {
		pr_err("network namespace: more than %d links; not supported", NET_MAX_LINKS);
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
	l->mtu = tb[IFLA_MTU] ? rta_u32(tb[IFLA_MTU]) : 0;
	if (tb[IFLA_ADDRESS] && strcmp(kind, "lo")) {
		l->has_mac = true;
		l->mac.len = RTA_PAYLOAD(tb[IFLA_ADDRESS]);
		l->mac.data = malloc(l->mac.len ? l->mac.len : 1);
		if (!l->mac.data)
			return -ENOMEM;
		memcpy(l->mac.data, RTA_DATA(tb[IFLA_ADDRESS]), l->mac.len);
	}
	if (!strcmp(kind, "macvlan")) {
		int ret = macvlan_info(l, li[IFLA_INFO_DATA]);

		if (ret)
			return ret;
	}
	d = xrealloc_array(s->links, s->nr + 1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	s->links = d;
	d = &s->links[s->nr++];
	d->ifindex = ifi->ifi_index;
	d->link = tb[IFLA_LINK] ? (int)rta_u32(tb[IFLA_LINK]) : 0;
	d->link_nsid = tb[IFLA_LINK_NETNSID] ? (int)rta_u32(tb[IFLA_LINK_NETNSID]) : -1;
	d->l = l;
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
	if (d->l->n_addrs >= NET_MAX_ADDRS) {
		pr_err("network namespace: link '%s' has more than %d addresses; not supported",
		       d->l->name, NET_MAX_ADDRS);
		return -ENOTSUP;
	}
	na = xzalloc(sizeof(*na));
	if (!na || push(&d->l->addrs, &d->l->n_addrs, na)) {
		free(na);
		return -ENOMEM;
	}
	net_addr__init(na);
	na->family = ifa->ifa_family;
	na->prefixlen = ifa->ifa_prefixlen;
	na->flags = tb[IFA_FLAGS] ? rta_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	na->scope = ifa->ifa_scope;
	return bytes_set(&na->addr, a);
}

static bool route_type_ok(unsigned type)
{
	return type == RTN_UNICAST || type == RTN_LOCAL || type == RTN_BLACKHOLE ||
	       type == RTN_UNREACHABLE || type == RTN_PROHIBIT || type == RTN_THROW;
}

static int route_metrics(NetRoute *r, struct rtattr *m)
{
	struct rtattr *a = RTA_DATA(m);
	int len = RTA_PAYLOAD(m);

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		uint32_t *n;

		if (a->rta_type > RTAX_MAX || a->rta_type == RTAX_CC_ALGO || RTA_PAYLOAD(a) != 4) {
			pr_err("network namespace: a route has metric %u; not supported", a->rta_type);
			return -ENOTSUP;
		}
		n = xrealloc_array(r->metrics, r->n_metrics + 2, sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->metrics = n;
		n[r->n_metrics++] = a->rta_type;
		n[r->n_metrics++] = rta_u32(a);
	}
	return 0;
}

static int route_nexthops(struct dstate *s, NetRoute *r, struct rtattr *mp)
{
	struct rtnexthop *nh = RTA_DATA(mp);
	int len = RTA_PAYLOAD(mp);

	for (; RTNH_OK(nh, len); len -= NLMSG_ALIGN(nh->rtnh_len), nh = RTNH_NEXT(nh)) {
		struct rtattr *tb[RTA_MAX + 1];
		struct dlink *d = dlink_find(s, nh->rtnh_ifindex);
		NetNexthop *x;
		int ret;

		if (r->n_nexthops >= NET_MAX_NEXTHOPS || (nh->rtnh_ifindex && !d)) {
			pr_err("network namespace: a multipath route has too many next hops or one on an unknown link");
			return -ENOTSUP;
		}
		x = xzalloc(sizeof(*x));
		if (!x || push(&r->nexthops, &r->n_nexthops, x)) {
			free(x);
			return -ENOMEM;
		}
		net_nexthop__init(x);
		x->hops = nh->rtnh_hops;
		x->flags = nh->rtnh_flags & RTNH_F_ONLINK;
		if (d && !(x->oif = strdup(d->l->name)))
			return -ENOMEM;
		parse_attrs(tb, RTA_MAX, RTNH_DATA(nh), nh->rtnh_len - RTNH_LENGTH(0));
		if (tb[RTA_GATEWAY]) {
			if ((ret = bytes_set(&x->gateway, tb[RTA_GATEWAY])))
				return ret;
			x->has_gateway = true;
		}
	}
	return 0;
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
		table = rta_u32(tb[RTA_TABLE]);
	/* what the kernel makes by itself comes back by itself */
	if (rt->rtm_protocol == RTPROT_KERNEL || rt->rtm_protocol == RTPROT_RA ||
	    rt->rtm_protocol == RTPROT_REDIRECT || (rt->rtm_flags & RTM_F_CLONED) ||
	    (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6))
		return 0;
	if (!route_type_ok(rt->rtm_type)) {
		pr_err("network namespace: a route of type %u in table %u; not supported", rt->rtm_type,
		       table);
		return -ENOTSUP;
	}
	if (tb[RTA_OIF] && !(d = dlink_find(s, rta_u32(tb[RTA_OIF]))))
		return -EINVAL;
	if (s->n->n_routes >= NET_MAX_ROUTES) {
		pr_err("network namespace: more than %d routes; not supported", NET_MAX_ROUTES);
		return -ENOTSUP;
	}
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
	r->has_table = true;
	r->table = table;
	r->has_tos = rt->rtm_tos != 0;
	r->tos = rt->rtm_tos;
	r->has_flags = (rt->rtm_flags & RTNH_F_ONLINK) != 0;
	r->flags = rt->rtm_flags & RTNH_F_ONLINK;
	if (d && !(r->oif = strdup(d->l->name)))
		return -ENOMEM;
	if (tb[RTA_PRIORITY]) {
		r->has_priority = true;
		r->priority = rta_u32(tb[RTA_PRIORITY]);
	}
	if (tb[RTA_PREF] && RTA_PAYLOAD(tb[RTA_PREF]) == 1) {
		r->has_pref = true;
		r->pref = *(uint8_t *)RTA_DATA(tb[RTA_PREF]);
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
	if (tb[RTA_METRICS] && (ret = route_metrics(r, tb[RTA_METRICS])))
		return ret;
	if (tb[RTA_MULTIPATH] && (ret = route_nexthops(s, r, tb[RTA_MULTIPATH])))
		return ret;
	return 0;
}

/* The FRA_* attributes a rule may carry, with their sizes (0: a link name). */
static int rule_attr_size(unsigned type, unsigned family)
{
	switch (type) {
	case FRA_DST:
	case FRA_SRC:
		return family == AF_INET ? 4 : 16;
	case FRA_IIFNAME:
	case FRA_OIFNAME:
		return 0;
	case FRA_GOTO:
	case FRA_PRIORITY:
	case FRA_FWMARK:
	case FRA_FLOW:
	case FRA_SUPPRESS_IFGROUP:
	case FRA_SUPPRESS_PREFIXLEN:
	case FRA_TABLE:
	case FRA_FWMASK:
		return 4;
	case FRA_TUN_ID:
		return 8;
	case FRA_L3MDEV:
	case FRA_PROTOCOL:
	case FRA_IP_PROTO:
	case FRA_DSCP_:
	case FRA_DSCP_MASK_:
		return 1;
	case FRA_SPORT_MASK_:
	case FRA_DPORT_MASK_:
		return 2;
	case FRA_FLOWLABEL_:
	case FRA_FLOWLABEL_MASK_:
		return 4;
	case FRA_UID_RANGE:
		return sizeof(struct fib_rule_uid_range);
	case FRA_SPORT_RANGE:
	case FRA_DPORT_RANGE:
		return sizeof(struct fib_rule_port_range);
	}
	return -1;
}

static int rule_cb(struct nlmsghdr *h, void *arg)
{
	struct dstate *s = arg;
	struct fib_rule_hdr *fr = NLMSG_DATA(h);
	struct rtattr *a = (struct rtattr *)((char *)fr + NLMSG_ALIGN(sizeof(*fr)));
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*fr));
	NetRule *r;

	if (h->nlmsg_type != RTM_NEWRULE || (fr->family != AF_INET && fr->family != AF_INET6))
		return 0;
	if (s->n->n_rules >= NET_MAX_RULES) {
		pr_err("network namespace: more than %d rules; not supported", NET_MAX_RULES);
		return -ENOTSUP;
	}
	r = xzalloc(sizeof(*r));
	if (!r || push(&s->n->rules, &s->n->n_rules, r)) {
		free(r);
		return -ENOMEM;
	}
	net_rule__init(r);
	r->family = fr->family;
	r->dst_len = fr->dst_len;
	r->src_len = fr->src_len;
	r->tos = fr->tos;
	r->table = fr->table;
	r->action = fr->action;
	r->flags = fr->flags;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		int size = rule_attr_size(a->rta_type, fr->family);
		NetRuleAttr *x;
		int ret;

		if (a->rta_type == FRA_PAD)
			continue;
		if (size < 0 || (size && RTA_PAYLOAD(a) != (unsigned)size) || r->n_attrs >= NET_MAX_RULE_ATTRS ||
		    (!size && (RTA_PAYLOAD(a) > IFNAMSIZ || !memchr(RTA_DATA(a), 0, RTA_PAYLOAD(a))))) {
			pr_err("network namespace: a rule of family %u for table %u has attribute %u; not supported",
			       fr->family, fr->table, a->rta_type);
			return -ENOTSUP;
		}
		x = xzalloc(sizeof(*x));
		if (!x || push(&r->attrs, &r->n_attrs, x)) {
			free(x);
			return -ENOMEM;
		}
		net_rule_attr__init(x);
		x->type = a->rta_type;
		if ((ret = bytes_set(&x->value, a)))
			return ret;
	}
	return 0;
}

static int neigh_cb(struct nlmsghdr *h, void *arg)
{
	struct dstate *s = arg;
	struct ndmsg *nd = NLMSG_DATA(h);
	struct rtattr *tb[NDA_MAX + 1];
	struct dlink *d;
	NetNeigh *n;
	int ret;

	/* permanent entries, and proxy ones (those come in a dump of their own) */
	if (h->nlmsg_type != RTM_NEWNEIGH || !(nd->ndm_state & NUD_PERMANENT || nd->ndm_flags & NTF_PROXY) ||
	    (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6))
		return 0;
	parse_attrs(tb, NDA_MAX, (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd))),
		    h->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)));
	d = dlink_find(s, nd->ndm_ifindex);
	if (!d || !tb[NDA_DST])
		return 0;
	if (s->n->n_neighs >= NET_MAX_NEIGHS) {
		pr_err("network namespace: more than %d permanent neighbours; not supported", NET_MAX_NEIGHS);
		return -ENOTSUP;
	}
	n = xzalloc(sizeof(*n));
	if (!n || push(&s->n->neighs, &s->n->n_neighs, n)) {
		free(n);
		return -ENOMEM;
	}
	net_neigh__init(n);
	n->family = nd->ndm_family;
	n->flags = nd->ndm_flags & (NTF_ROUTER | NTF_PROXY);
	if (!(n->link = strdup(d->l->name)))
		return -ENOMEM;
	if ((ret = bytes_set(&n->dst, tb[NDA_DST])))
		return ret;
	if (tb[NDA_LLADDR]) {
		if ((ret = bytes_set(&n->lladdr, tb[NDA_LLADDR])))
			return ret;
		n->has_lladdr = true;
	}
	return 0;
}

static int nl_dump_flags(int sk, int type, int family, uint8_t flags, int (*cb)(struct nlmsghdr *, void *),
			 void *arg);

static int nl_dump(int sk, int type, int family, int (*cb)(struct nlmsghdr *, void *), void *arg)
{
	return nl_dump_flags(sk, type, family, 0, cb, arg);
}

/* flags: the ndm_flags of a neighbour dump (NTF_PROXY: the proxy entries) */
static int nl_dump_flags(int sk, int type, int family, uint8_t flags, int (*cb)(struct nlmsghdr *, void *),
			 void *arg)
{
	struct nlreq req;

	req_init(&req, type, NLM_F_DUMP, sizeof(struct rtgenmsg));
	((struct rtgenmsg *)NLMSG_DATA(&req.h))->rtgen_family = family;
	if (type == RTM_GETLINK) {
		req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
		((struct ifinfomsg *)NLMSG_DATA(&req.h))->ifi_family = family;
	} else if (type == RTM_GETROUTE) {
		req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
		((struct rtmsg *)NLMSG_DATA(&req.h))->rtm_family = family;
	} else if (type == RTM_GETRULE) {
		req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct fib_rule_hdr));
		((struct fib_rule_hdr *)NLMSG_DATA(&req.h))->family = family;
	} else if (type == RTM_GETNEIGH) {
		req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
		((struct ndmsg *)NLMSG_DATA(&req.h))->ndm_family = family;
		((struct ndmsg *)NLMSG_DATA(&req.h))->ndm_flags = flags;
	}
	return nl_talk(sk, &req.h, cb, arg);
}

static int nsid_cb(struct nlmsghdr *h, void *arg)
{
	struct rtattr *tb[NETNSA_MAX + 1];

	if (h->nlmsg_type != RTM_NEWNSID)
		return 0;
	parse_attrs(tb, NETNSA_MAX, (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct rtgenmsg))),
		    h->nlmsg_len - NLMSG_LENGTH(sizeof(struct rtgenmsg)));
	if (tb[NETNSA_NSID])
		*(int *)arg = (int)rta_u32(tb[NETNSA_NSID]);
	return 0;
}

/* The id the namespace of sk gives the namespace of nsfd, -1 if none. */
static int nl_get_nsid(int sk, int nsfd)
{
	struct nlreq req;
	int id = -1;

	req_init(&req, RTM_GETNSID, 0, sizeof(struct rtgenmsg));
	nl_add_u32(&req, NETNSA_FD, nsfd);
	/* an answer, then an ack: read with the dump loop until the ack */
	req.h.nlmsg_flags = NLM_F_ACK;
	if (nl_talk(sk, &req.h, nsid_cb, &id) < 0)
		return -1;
	return id;
}

/* Is name one of the per-interface directories the image may hold? */
static int sysctl_append(NetnsEntry *n, const char *name)
{
	char path[160];
	char *v;
	NetSysctl *sc;

	snprintf(path, sizeof(path), "/proc/sys/net/%s", name);
	v = read_file_at(AT_FDCWD, path, NULL);
	if (!v)
		return 0;	/* not in this kernel, or no IPv6 here */
	v[strcspn(v, "\n")] = '\0';
	if (strlen(v) > NET_MAX_SYSCTL_VAL) {
		pr_err("network namespace: sysctl %s has a value longer than %d bytes", path, NET_MAX_SYSCTL_VAL);
		free(v);
		return -ENOTSUP;
	}
	sc = xzalloc(sizeof(*sc));
	if (!sc || push(&n->sysctls, &n->n_sysctls, sc)) {
		free(sc);
		free(v);
		return -ENOMEM;
	}
	net_sysctl__init(sc);
	sc->name = strdup(name);
	sc->value = v;
	return sc->name ? 0 : -ENOMEM;
}

static int read_conf(NetnsEntry *n, const char *dev)
{
	char name[96];
	int ret;

	for (unsigned k = 0; k < ARRAY_SIZE(conf4_keys); k++) {
		snprintf(name, sizeof(name), "ipv4/conf/%s/%s", dev, conf4_keys[k]);
		if ((ret = sysctl_append(n, name)))
			return ret;
	}
	for (unsigned k = 0; k < ARRAY_SIZE(conf6_keys); k++) {
		snprintf(name, sizeof(name), "ipv6/conf/%s/%s", dev, conf6_keys[k]);
		if ((ret = sysctl_append(n, name)))
			return ret;
	}
	return 0;
}

/* Inside the tree's namespace (/proc/sys/net is the reader's namespace's). */
static int read_sysctls(struct dstate *s)
{
	int ret;

	for (unsigned i = 0; i < ARRAY_SIZE(net_sysctls); i++)
		if ((ret = sysctl_append(s->n, net_sysctls[i])))
			return ret;
	if ((ret = read_conf(s->n, "all")) || (ret = read_conf(s->n, "default")))
		return ret;
	for (unsigned i = 0; i < s->nr; i++)
		if ((ret = read_conf(s->n, s->links[i].l->name)))
			return ret;
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
	    (int)rta_u32(tb[IFLA_LINK]) != p->want_link)
		return 0;
	snprintf(p->name, sizeof(p->name), "%s", (char *)RTA_DATA(tb[IFLA_IFNAME]));
	p->master = tb[IFLA_MASTER] ? (int)rta_u32(tb[IFLA_MASTER]) : 0;
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

/* The lower link of a macvlan: inside, or in lxc-cr's namespace (host_nsid). */
static int find_lower(struct dstate *s, struct dlink *d, int host_nsid)
{
	char name[IFNAMSIZ];
	struct dlink *p;

	if (d->link_nsid < 0) {
		if (!(p = dlink_find(s, d->link))) {
			pr_err("network namespace: macvlan '%s' has no lower link", d->l->name);
			return -ENOTSUP;
		}
		d->l->has_lower_inside = d->l->lower_inside = true;
		d->l->lower = strdup(p->l->name);
		return d->l->lower ? 0 : -ENOMEM;
	}
	if (host_nsid < 0 || d->link_nsid != host_nsid) {
		pr_err("network namespace: the lower link of macvlan '%s' is neither inside nor in lxc-cr's network namespace; not supported",
		       d->l->name);
		return -ENOTSUP;
	}
	if (!if_indextoname(d->link, name)) {
		pr_perror("macvlan '%s': cannot name its lower link %d", d->l->name, d->link);
		return -errno;
	}
	d->l->lower = strdup(name);
	return d->l->lower ? 0 : -ENOMEM;
}

int net_dump(pid_t root, NsEntry *e)
{
	struct dstate s = { 0 };
	char path[64];
	_cleanup_close_ int own = -1, fd = -1, sk = -1, hsk = -1;
	int ret, host_nsid = -1;

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
	ret = sk < 0 ? sk : nl_dump(sk, RTM_GETLINK, AF_UNSPEC, link_cb, &s);
	if (!ret)
		ret = read_sysctls(&s);
	if (setns(own, CLONE_NEWNET) < 0) {
		pr_perror("cannot go back to lxc-cr's network namespace");
		abort();
	}
	if (!ret)
		ret = nl_dump(sk, RTM_GETADDR, AF_UNSPEC, addr_cb, &s);
	if (!ret)
		ret = nl_dump(sk, RTM_GETROUTE, AF_INET, route_cb, &s);
	if (!ret)
		ret = nl_dump(sk, RTM_GETROUTE, AF_INET6, route_cb, &s);
	if (!ret)
		ret = nl_dump(sk, RTM_GETRULE, AF_INET, rule_cb, &s);
	if (!ret)
		ret = nl_dump(sk, RTM_GETRULE, AF_INET6, rule_cb, &s);
	if (!ret)
		ret = nl_dump(sk, RTM_GETNEIGH, AF_INET, neigh_cb, &s);
	if (!ret)
		ret = nl_dump(sk, RTM_GETNEIGH, AF_INET6, neigh_cb, &s);
	if (!ret)
		ret = nl_dump_flags(sk, RTM_GETNEIGH, AF_INET, NTF_PROXY, neigh_cb, &s);
	if (!ret)
		ret = nl_dump_flags(sk, RTM_GETNEIGH, AF_INET6, NTF_PROXY, neigh_cb, &s);
	if (!ret)
		host_nsid = nl_get_nsid(sk, own);
	for (unsigned i = 0; !ret && i < s.nr; i++) {
		struct dlink *d = &s.links[i], *p;

		if (!strcmp(d->l->kind, "macvlan")) {
			ret = find_lower(&s, d, host_nsid);
			continue;
		}
		if (strcmp(d->l->kind, "veth"))
			continue;
		if (d->link_nsid >= 0) {
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
		pr_info("network namespace: %zu links, %zu routes, %zu rules, %zu neighbours, %zu sysctls",
			s.n->n_links, s.n->n_routes, s.n->n_rules, s.n->n_neighs, s.n->n_sysctls);
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
	s->link[s->nr++] = (int)rta_u32(tb[IFLA_LINK]);
	return 0;
}

static int set_up(int hsk, const char *name, bool up)
{
	struct nlreq r;
	struct ifinfomsg *ifi;

	req_link(&r, RTM_NEWLINK, 0, 0);
	ifi = NLMSG_DATA(&r.h);
	nl_add_str(&r, IFLA_IFNAME, name);
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

static bool name_ok(const char *s)
{
	return s && *s && strlen(s) < IFNAMSIZ && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static const NetLink *link_find(const NetnsEntry *n, const char *name)
{
	for (size_t i = 0; i < n->n_links; i++)
		if (!strcmp(n->links[i]->name, name))
			return n->links[i];
	return NULL;
}

static bool addr_len_ok(uint32_t family, const ProtobufCBinaryData *b)
{
	return (family == AF_INET && b->len == 4) || (family == AF_INET6 && b->len == 16);
}

static uint32_t family_bits(uint32_t family)
{
	return family == AF_INET ? 32 : 128;
}

static bool in_list(const char *s, size_t len, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && !strncmp(list[i], s, len))
			return true;
	return false;
}

/*
 * The directory DEV of a sysctl NAME (ipv4/conf/DEV/KEY, ipv6/conf/DEV/KEY),
 * "" for a global one, NULL if the name is not one restore writes.
 */
static const char *sysctl_dev(const char *name, char dev[IFNAMSIZ])
{
	const char *p, *slash;
	bool v4 = !strncmp(name, "ipv4/conf/", 10);

	if (in_list(name, strlen(name), net_sysctls, ARRAY_SIZE(net_sysctls))) {
		dev[0] = '\0';
		return dev;
	}
	if (!v4 && strncmp(name, "ipv6/conf/", 10))
		return NULL;
	p = name + 10;
	slash = strchr(p, '/');
	if (!slash || slash == p || slash - p >= IFNAMSIZ)
		return NULL;
	snprintf(dev, IFNAMSIZ, "%.*s", (int)(slash - p), p);
	if (!name_ok(dev))
		return NULL;
	if (v4 ? !in_list(slash + 1, strlen(slash + 1), conf4_keys, ARRAY_SIZE(conf4_keys))
	       : !in_list(slash + 1, strlen(slash + 1), conf6_keys, ARRAY_SIZE(conf6_keys)))
		return NULL;
	return dev;
}

static int validate_links(const NetnsEntry *n)
{
	for (size_t i = 0; i < n->n_links; i++) {
		const NetLink *l = n->links[i];
		bool mv = !strcmp(l->kind, "macvlan");

		if (!name_ok(l->name) || (strcmp(l->kind, "lo") && strcmp(l->kind, "veth") && !mv) ||
		    (l->has_mac && l->mac.len > 32) || (l->peer && !name_ok(l->peer)) ||
		    (l->ext_name && !name_ok(l->ext_name)) || (l->ext_master && !name_ok(l->ext_master)) ||
		    l->n_addrs > NET_MAX_ADDRS || (l->peer && !link_find(n, l->peer)) ||
		    (mv && (!name_ok(l->lower) || (l->lower_inside && !link_find(n, l->lower)) ||
			    (l->macvlan_mode != MACVLAN_MODE_PRIVATE && l->macvlan_mode != MACVLAN_MODE_VEPA &&
			     l->macvlan_mode != MACVLAN_MODE_BRIDGE && l->macvlan_mode != MACVLAN_MODE_PASSTHRU) ||
			    (l->macvlan_flags & ~(MACVLAN_FLAG_NOPROMISC | MACVLAN_FLAG_NODST)))) ||
		    (!mv && (l->lower || l->has_macvlan_mode))) {
			pr_err("image ns.img: link '%s' is invalid", l->name);
			return -EINVAL;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcmp(n->links[k]->name, l->name)) {
				pr_err("image ns.img: link '%s' is there twice", l->name);
				return -EINVAL;
			}
		for (size_t k = 0; k < l->n_addrs; k++)
			if (!addr_len_ok(l->addrs[k]->family, &l->addrs[k]->addr) ||
			    l->addrs[k]->prefixlen > family_bits(l->addrs[k]->family) || l->addrs[k]->scope > 255) {
				pr_err("image ns.img: an address of link '%s' is invalid", l->name);
				return -EINVAL;
			}
	}
	return 0;
}

static int validate_routes(const NetnsEntry *n)
{
	for (size_t i = 0; i < n->n_routes; i++) {
		const NetRoute *r = n->routes[i];
		bool ok = (r->family == AF_INET || r->family == AF_INET6) &&
			  r->dst_len <= family_bits(r->family) && (!r->has_dst || addr_len_ok(r->family, &r->dst)) &&
			  (!r->has_gateway || addr_len_ok(r->family, &r->gateway)) &&
			  (!r->has_prefsrc || addr_len_ok(r->family, &r->prefsrc)) &&
			  (!r->oif || (name_ok(r->oif) && link_find(n, r->oif))) && route_type_ok(r->type) &&
			  r->scope <= 255 && r->protocol <= 255 && r->tos <= 255 && r->pref <= 255 &&
			  (!r->has_table || r->table) && !(r->flags & ~RTNH_F_ONLINK) &&
			  r->n_metrics % 2 == 0 && r->n_metrics <= 2 * RTAX_MAX && r->n_nexthops <= NET_MAX_NEXTHOPS;

		for (size_t k = 0; ok && k < r->n_metrics; k += 2)
			ok = r->metrics[k] && r->metrics[k] <= RTAX_MAX && r->metrics[k] != RTAX_CC_ALGO;
		for (size_t k = 0; ok && k < r->n_nexthops; k++) {
			const NetNexthop *x = r->nexthops[k];

			ok = (!x->has_gateway || addr_len_ok(r->family, &x->gateway)) && x->hops <= 255 &&
			     !(x->flags & ~RTNH_F_ONLINK) && (!x->oif || (name_ok(x->oif) && link_find(n, x->oif)));
		}
		if (!ok) {
			pr_err("image ns.img: route %zu is invalid", i);
			return -EINVAL;
		}
	}
	return 0;
}

static int validate_rules(const NetnsEntry *n)
{
	for (size_t i = 0; i < n->n_rules; i++) {
		const NetRule *r = n->rules[i];
		bool ok = (r->family == AF_INET || r->family == AF_INET6) && r->dst_len <= family_bits(r->family) &&
			  r->src_len <= family_bits(r->family) && r->tos <= 255 && r->table <= 255 &&
			  r->action <= FR_ACT_PROHIBIT && r->n_attrs <= NET_MAX_RULE_ATTRS;

		for (size_t k = 0; ok && k < r->n_attrs; k++) {
			const NetRuleAttr *a = r->attrs[k];
			int size = rule_attr_size(a->type, r->family);

			ok = size > 0 ? a->value.len == (size_t)size
				      : size == 0 && a->value.len && a->value.len <= IFNAMSIZ &&
						memchr(a->value.data, 0, a->value.len);
		}
		if (!ok) {
			pr_err("image ns.img: rule %zu is invalid", i);
			return -EINVAL;
		}
	}
	return 0;
}

int net_validate(const NetnsEntry *n)
{
	int ret;

	if (n->n_links > NET_MAX_LINKS || n->n_routes > NET_MAX_ROUTES || n->n_rules > NET_MAX_RULES ||
	    n->n_neighs > NET_MAX_NEIGHS || n->n_sysctls > NET_MAX_SYSCTLS) {
		pr_err("image ns.img: more links, routes, rules, neighbours or sysctls than restore takes");
		return -EINVAL;
	}
	if ((ret = validate_links(n)) || (ret = validate_routes(n)) || (ret = validate_rules(n)))
		return ret;
	for (size_t i = 0; i < n->n_neighs; i++) {
		const NetNeigh *x = n->neighs[i];

		if (!addr_len_ok(x->family, &x->dst) || !name_ok(x->link) || !link_find(n, x->link) ||
		    (x->has_lladdr && x->lladdr.len > 32) || (x->flags & ~(NTF_ROUTER | NTF_PROXY))) {
			pr_err("image ns.img: neighbour %zu is invalid", i);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < n->n_sysctls; i++) {
		const NetSysctl *sc = n->sysctls[i];
		char dev[IFNAMSIZ];
		bool ok = sysctl_dev(sc->name, dev) && strlen(sc->value) <= NET_MAX_SYSCTL_VAL &&
			  (!dev[0] || !strcmp(dev, "all") || !strcmp(dev, "default") || link_find(n, dev));

		for (const char *c = sc->value; ok && *c; c++)
			ok = (*c >= ' ' && *c <= '~') || *c == '\t';
		if (!ok) {
			pr_err("image ns.img: sysctl '%s' is invalid", sc->name);
			return -EINVAL;
		}
	}
	return 0;
}

/* OUT if s is KIND[IN]:OUT, else NULL. */
static const char *ext_opt_one(const char *s, const char *kind, const char *in)
{
	size_t k = strlen(kind), n = strlen(in);

	if (!strncmp(s, kind, k) && s[k] == '[' && !strncmp(s + k + 1, in, n) && !strncmp(s + k + 1 + n, "]:", 2))
		return s + k + 1 + n + 2;
	return NULL;
}

/* OUT of the last --external KIND[IN]:OUT, or NULL. */
static const char *ext_opt(const struct crc_restore_opts *o, const char *kind, const char *in)
{
	const char *found = NULL;

	for (unsigned i = 0; i < o->nr_externals; i++)
		if (ext_opt_one(o->externals[i], kind, in))
			found = ext_opt_one(o->externals[i], kind, in);
	return found;
}

/* Where the host end of an external veth goes: --external, else its old name. */
static int ext_target(const struct crc_restore_opts *o, const NetLink *l, char out[IFNAMSIZ],
		      char br[IFNAMSIZ])
{
	const char *s = ext_opt(o, "veth", l->name), *at, *end;

	snprintf(out, IFNAMSIZ, "%s", l->ext_name);
	snprintf(br, IFNAMSIZ, "%s", l->ext_master ? l->ext_master : "");
	if (!s)
		return 0;
	at = strchr(s, '@');
	end = at ? at : s + strlen(s);
	if (end == s || end - s >= IFNAMSIZ || (at && (!at[1] || strlen(at + 1) >= IFNAMSIZ))) {
		pr_err("--external veth[%s]:%s: invalid names", l->name, s);
		return -EINVAL;
	}
	snprintf(out, IFNAMSIZ, "%.*s", (int)(end - s), s);
	if (at)
		snprintf(br, IFNAMSIZ, "%s", at + 1);
	return 0;
}

/* The host link an external macvlan goes on: --external, else its old one. */
static int ext_lower(const struct crc_restore_opts *o, const NetLink *l, char out[IFNAMSIZ])
{
	const char *s = ext_opt(o, "macvlan", l->name);

	if (s && !name_ok(s)) {
		pr_err("--external macvlan[%s]:%s: invalid name", l->name, s);
		return -EINVAL;
	}
	snprintf(out, IFNAMSIZ, "%s", s ? s : l->lower);
	return 0;
}

static void req_link(struct nlreq *r, int type, int flags, int index)
{
	req_init(r, type, flags, sizeof(struct ifinfomsg));
	((struct ifinfomsg *)NLMSG_DATA(&r->h))->ifi_index = index;
}

/* A veth pair named name/peer; the peer goes to netns_fd if >= 0. */
static int create_veth(int sk, const char *name, const char *peer, int netns_fd, const NetLink *inner)
{
	struct nlreq r;
	struct rtattr *li, *data, *pe;
	struct ifinfomsg *pifi;

	req_link(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	nl_add_str(&r, IFLA_IFNAME, name);
	if (inner->mtu)
		nl_add_u32(&r, IFLA_MTU, inner->mtu);
	li = nl_add(&r, IFLA_LINKINFO, NULL, 0);
	nl_add_str(&r, IFLA_INFO_KIND, "veth");
	data = nl_add(&r, IFLA_INFO_DATA, NULL, 0);
	pe = nl_add(&r, VETH_INFO_PEER, NULL, sizeof(*pifi));
	pifi = RTA_DATA(pe);
	memset(pifi, 0, sizeof(*pifi));
	nl_add_str(&r, IFLA_IFNAME, peer);
	if (netns_fd >= 0)
		nl_add_u32(&r, IFLA_NET_NS_FD, netns_fd);
	nl_end(&r, pe);
	nl_end(&r, data);
	nl_end(&r, li);
	return nl_talk(sk, &r.h, NULL, NULL);
}

/* Macvlan l on link lower (an index in sk's namespace), put into netns_fd if >= 0. */
static int create_macvlan(int sk, const NetLink *l, unsigned lower, int netns_fd)
{
	struct nlreq r;
	struct rtattr *li, *data;
	uint16_t flags = l->macvlan_flags;

	req_link(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	nl_add_str(&r, IFLA_IFNAME, l->name);
	nl_add_u32(&r, IFLA_LINK, lower);
	if (l->mtu)
		nl_add_u32(&r, IFLA_MTU, l->mtu);
	if (l->has_mac && l->mac.len)
		nl_add(&r, IFLA_ADDRESS, l->mac.data, l->mac.len);
	if (netns_fd >= 0)
		nl_add_u32(&r, IFLA_NET_NS_FD, netns_fd);
	li = nl_add(&r, IFLA_LINKINFO, NULL, 0);
	nl_add_str(&r, IFLA_INFO_KIND, "macvlan");
	data = nl_add(&r, IFLA_INFO_DATA, NULL, 0);
	nl_add_u32(&r, IFLA_MACVLAN_MODE, l->macvlan_mode);
	nl_add(&r, IFLA_MACVLAN_FLAGS, &flags, sizeof(flags));
	nl_end(&r, data);
	nl_end(&r, li);
	return nl_talk(sk, &r.h, NULL, NULL);
}

/* MAC and MTU (inner end), the master (host end), and IFF_UP if up_change. */
static int set_link(int sk, const NetLink *l, int master, bool host_end, bool up_change)
{
	struct nlreq r;
	struct ifinfomsg *ifi;

	req_link(&r, RTM_NEWLINK, 0, 0);
	ifi = NLMSG_DATA(&r.h);
	nl_add_str(&r, IFLA_IFNAME, host_end ? l->ext_name : l->name);
	if (!host_end && l->has_mac && l->mac.len)
		nl_add(&r, IFLA_ADDRESS, l->mac.data, l->mac.len);
	if (l->mtu && !host_end)
		nl_add_u32(&r, IFLA_MTU, l->mtu);
	if (master)
		nl_add_u32(&r, IFLA_MASTER, master);
	/* a host end stays down until the tree is restored: see net_restore_up() */
	if (up_change) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = l->up && !host_end ? IFF_UP : 0;
	}
	return nl_talk(sk, &r.h, NULL, NULL);
}

static int add_addr(int sk, int index, const NetAddr *a)
{
	struct nlreq r;
	struct ifaddrmsg *ifa;

	req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	ifa = NLMSG_DATA(&r.h);
	ifa->ifa_family = a->family;
	ifa->ifa_prefixlen = a->prefixlen;
	ifa->ifa_scope = a->scope;
	ifa->ifa_index = index;
	ifa->ifa_flags = a->flags & IFA_SETTABLE & 0xff;
	if (a->family == AF_INET)
		nl_add(&r, IFA_LOCAL, a->addr.data, a->addr.len);
	nl_add(&r, IFA_ADDRESS, a->addr.data, a->addr.len);
	nl_add_u32(&r, IFA_FLAGS, a->flags & IFA_SETTABLE);
	return nl_talk(sk, &r.h, NULL, NULL);
}

static int add_route(int sk, const NetRoute *rt)
{
	uint32_t table = rt->has_table ? rt->table : RT_TABLE_MAIN;
	struct nlreq r;
	struct rtmsg *m;

	req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(*m));
	m = NLMSG_DATA(&r.h);
	m->rtm_family = rt->family;
	m->rtm_dst_len = rt->dst_len;
	m->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	m->rtm_protocol = rt->protocol;
	m->rtm_scope = rt->scope;
	m->rtm_type = rt->type;
	m->rtm_tos = rt->tos;
	m->rtm_flags = rt->flags;
	nl_add_u32(&r, RTA_TABLE, table);
	if (rt->has_dst)
		nl_add(&r, RTA_DST, rt->dst.data, rt->dst.len);
	if (rt->has_gateway)
		nl_add(&r, RTA_GATEWAY, rt->gateway.data, rt->gateway.len);
	if (rt->has_prefsrc)
		nl_add(&r, RTA_PREFSRC, rt->prefsrc.data, rt->prefsrc.len);
	if (rt->has_priority)
		nl_add_u32(&r, RTA_PRIORITY, rt->priority);
	if (rt->has_pref) {
		uint8_t p = rt->pref;

		nl_add(&r, RTA_PREF, &p, 1);
	}
	if (rt->oif) {
		unsigned idx = if_nametoindex(rt->oif);

		if (!idx)
			return -ENODEV;
		nl_add_u32(&r, RTA_OIF, idx);
	}
	if (rt->n_metrics) {
		struct rtattr *mx = nl_add(&r, RTA_METRICS, NULL, 0);

		for (size_t k = 0; k + 1 < rt->n_metrics; k += 2)
			nl_add_u32(&r, rt->metrics[k], rt->metrics[k + 1]);
		nl_end(&r, mx);
	}
	if (rt->n_nexthops) {
		struct rtattr *mp = nl_add(&r, RTA_MULTIPATH, NULL, 0);

		for (size_t k = 0; k < rt->n_nexthops; k++) {
			const NetNexthop *x = rt->nexthops[k];
			struct rtattr *ra = nl_add(&r, 0, NULL, sizeof(struct rtnexthop) - RTA_LENGTH(0));
			struct rtnexthop *nh = (struct rtnexthop *)ra;

			if ((char *)ra == nl_spare)
				break;
			/* an rtnexthop, not an rtattr: same place, its own fields */
			nh->rtnh_flags = x->flags;
			nh->rtnh_hops = x->hops;
			nh->rtnh_ifindex = x->oif ? (int)if_nametoindex(x->oif) : 0;
			if (x->oif && !nh->rtnh_ifindex)
				return -ENODEV;
			if (x->has_gateway)
				nl_add(&r, RTA_GATEWAY, x->gateway.data, x->gateway.len);
			nh->rtnh_len = (char *)&r.h + r.h.nlmsg_len - (char *)nh;
		}
		nl_end(&r, mp);
	}
	return nl_talk(sk, &r.h, NULL, NULL);
}

static const char *route_str(const NetRoute *r, char *out, size_t size)
{
	char d[64];

	snprintf(out, size, "%s in table %u%s%s", addr_str(r->family, &r->dst, r->has_dst, r->dst_len, d, sizeof(d)),
		 r->has_table ? r->table : RT_TABLE_MAIN, r->oif ? " via link " : "", r->oif ? r->oif : "");
	return out;
}

/* Routes in passes: one whose gateway is reachable only through another
 * may come first in the image. */
static int add_routes(int sk, const NetnsEntry *n)
{
	_cleanup_free_ bool *done = xzalloc(n->n_routes + 1);
	size_t left = n->n_routes;
	bool progress = true;
	int ret = 0;

	if (!done)
		return -ENOMEM;
	while (left && progress) {
		progress = false;
		for (size_t i = 0; i < n->n_routes; i++) {
			if (done[i])
				continue;
			ret = add_route(sk, n->routes[i]);
			if (ret && ret != -EEXIST)
				continue;
			done[i] = true;
			left--;
			progress = true;
		}
	}
	for (size_t i = 0; left && i < n->n_routes; i++)
		if (!done[i]) {
			char buf[128];

			ret = add_route(sk, n->routes[i]);
			pr_err("network namespace: cannot add the route to %s: %s",
			       route_str(n->routes[i], buf, sizeof(buf)), strerror(-ret));
			return ret ? ret : -EINVAL;
		}
	return 0;
}

/* The rules a new namespace starts with, to be replaced by the saved ones. */
struct rule_list {
	struct nlreq *msgs;
	unsigned nr;
};

static int own_rule_cb(struct nlmsghdr *h, void *arg)
{
	struct rule_list *l = arg;
	struct nlreq *n;

	if (h->nlmsg_type != RTM_NEWRULE || h->nlmsg_len > sizeof(struct nlreq))
		return 0;
	n = xrealloc_array(l->msgs, l->nr + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	l->msgs = n;
	memcpy(&n[l->nr], h, h->nlmsg_len);
	l->nr++;
	return 0;
}

static int add_rule(int sk, const NetRule *x)
{
	struct nlreq r;
	struct fib_rule_hdr *fr;

	req_init(&r, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, sizeof(*fr));
	fr = NLMSG_DATA(&r.h);
	fr->family = x->family;
	fr->dst_len = x->dst_len;
	fr->src_len = x->src_len;
	fr->tos = x->tos;
	fr->table = x->table;
	fr->action = x->action;
	fr->flags = x->flags;
	for (size_t k = 0; k < x->n_attrs; k++)
		nl_add(&r, x->attrs[k]->type, x->attrs[k]->value.data, x->attrs[k]->value.len);
	return nl_talk(sk, &r.h, NULL, NULL);
}

static int restore_rules(int sk, const NetnsEntry *n)
{
	struct rule_list own = { 0 };
	int ret = 0;

	if (!n->n_rules)	/* an image of the first slice: the defaults stay */
		return 0;
	ret = nl_dump(sk, RTM_GETRULE, AF_INET, own_rule_cb, &own);
	if (!ret)
		ret = nl_dump(sk, RTM_GETRULE, AF_INET6, own_rule_cb, &own);
	for (unsigned i = 0; !ret && i < own.nr; i++) {
		own.msgs[i].h.nlmsg_type = RTM_DELRULE;
		own.msgs[i].h.nlmsg_flags = 0;
		ret = nl_talk(sk, &own.msgs[i].h, NULL, NULL);
	}
	free(own.msgs);
	if (ret) {
		pr_err("network namespace: cannot remove the default rules of the new namespace: %s",
		       strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < n->n_rules; i++)
		if ((ret = add_rule(sk, n->rules[i]))) {
			pr_err("network namespace: cannot add rule %zu (family %u, table %u): %s", i,
			       n->rules[i]->family, n->rules[i]->table, strerror(-ret));
			return ret;
		}
	return 0;
}

static int add_neigh(int sk, const NetNeigh *x)
{
	struct nlreq r;
	struct ndmsg *nd;

	req_init(&r, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, sizeof(*nd));
	nd = NLMSG_DATA(&r.h);
	nd->ndm_family = x->family;
	nd->ndm_ifindex = if_nametoindex(x->link);
	nd->ndm_state = NUD_PERMANENT;	/* not looked at for a proxy entry */
	nd->ndm_flags = x->flags;
	if (!nd->ndm_ifindex)
		return -ENODEV;
	nl_add(&r, NDA_DST, x->dst.data, x->dst.len);
	if (x->has_lladdr)
		nl_add(&r, NDA_LLADDR, x->lladdr.data, x->lladdr.len);
	return nl_talk(sk, &r.h, NULL, NULL);
}

static int write_sysctl(const NetSysctl *s)
{
	char path[160];
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *cur = NULL;
	size_t n = strlen(s->value);

	snprintf(path, sizeof(path), "/proc/sys/net/%s", s->name);
	cur = read_file_at(AT_FDCWD, path, NULL);
	if (cur) {
		cur[strcspn(cur, "\n")] = '\0';
		if (!strcmp(cur, s->value))
			return 0;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, s->value, n) != (ssize_t)n) {
		pr_perror("network namespace: cannot set %s to '%s'", path, s->value);
		return -errno;
	}
	return 0;
}

/* The sysctls of directory dev ("" for the globals). */
static int write_sysctls(const NetnsEntry *n, const char *dev)
{
	int ret;

	for (size_t i = 0; i < n->n_sysctls; i++) {
		char d[IFNAMSIZ];

		if (sysctl_dev(n->sysctls[i]->name, d) && !strcmp(d, dev) && (ret = write_sysctl(n->sysctls[i])))
			return ret;
	}
	return 0;
}

/* Inside the new namespace: its links, addresses, routes, rules, neighbours and sysctls. */
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

		if (strcmp(l->kind, "macvlan") || !l->lower_inside)
			continue;
		if ((ret = create_macvlan(sk, l, if_nametoindex(l->lower), -1))) {
			pr_err("network namespace: cannot create macvlan '%s' on '%s': %s", l->name, l->lower,
			       strerror(-ret));
			return ret;
		}
	}
	if ((ret = write_sysctls(n, "")) || (ret = write_sysctls(n, "all")) || (ret = write_sysctls(n, "default")))
		return ret;
	for (size_t i = 0; i < n->n_links; i++) {
		NetLink *l = n->links[i];
		unsigned idx;

		if ((ret = set_link(sk, l, 0, false, false)) || (ret = write_sysctls(n, l->name)) ||
		    (ret = set_link(sk, l, 0, false, true))) {
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
	if ((ret = add_routes(sk, n)) || (ret = restore_rules(sk, n)))
		return ret;
	for (size_t i = 0; i < n->n_neighs; i++)
		if ((ret = add_neigh(sk, n->neighs[i]))) {
			char buf[64];

			pr_err("network namespace: cannot add the permanent neighbour %s on link '%s': %s",
			       addr_str(n->neighs[i]->family, &n->neighs[i]->dst, true,
					family_bits(n->neighs[i]->family), buf, sizeof(buf)),
			       n->neighs[i]->link, strerror(-ret));
			return ret;
		}
	return 0;
}

static int del_link(int sk, const char *name)
{
	struct nlreq r;

	req_link(&r, RTM_DELLINK, 0, 0);
	nl_add_str(&r, IFLA_IFNAME, name);
	return nl_talk(sk, &r.h, NULL, NULL);
}

/* Every name on the host the restore needs is free, every link it needs is there. */
static int check_host(struct rst_ctx *ctx, NetnsEntry *n)
{
	int ret;

	/* an --external that names nothing in the images is a mistake of the caller */
	for (unsigned i = 0; i < ctx->opts->nr_externals; i++) {
		const char *x = ctx->opts->externals[i];
		bool found = false;

		for (size_t k = 0; k < n->n_links && !found; k++) {
			const NetLink *l = n->links[k];

			if (l->ext_name)
				found = ext_opt_one(x, "veth", l->name);
			else if (!strcmp(l->kind, "macvlan") && !l->lower_inside)
				found = ext_opt_one(x, "macvlan", l->name);
		}
		if (!found && (!strncmp(x, "veth[", 5) || !strncmp(x, "macvlan[", 8))) {
			pr_err("--external %s: the images hold no such external link", x);
			return -ENOENT;
		}
	}

	for (size_t i = 0; i < n->n_links; i++) {
		NetLink *l = n->links[i];
		char out[IFNAMSIZ], br[IFNAMSIZ];

		if (!strcmp(l->kind, "macvlan") && !l->lower_inside) {
			if ((ret = ext_lower(ctx->opts, l, out)))
				return ret;
			if (!if_nametoindex(out)) {
				pr_err("network namespace: link '%s' for macvlan '%s' does not exist on the host (--external macvlan[%s]:HOSTDEV names another)",
				       out, l->name, l->name);
				return -ENODEV;
			}
		}
		if (!l->ext_name)
			continue;
		if ((ret = ext_target(ctx->opts, l, out, br)))
			return ret;
		/* the end of a dumped tree's veth goes once its namespace is torn down */
		for (int w = 0; w < 150 && if_nametoindex(out); w++)
			usleep(20000);
		if (if_nametoindex(out)) {
			pr_err("network namespace: the host end '%s' of veth '%s' already exists on the host (--external veth[%s]:OUTSIDE renames it)",
			       out, l->name, l->name);
			return -EEXIST;
		}
		if (br[0] && !if_nametoindex(br)) {
			pr_err("network namespace: bridge '%s' for veth '%s' does not exist on the host", br,
			       l->name);
			return -ENODEV;
		}
		for (size_t k = 0; k < i; k++) {
			char o2[IFNAMSIZ], b2[IFNAMSIZ];

			if (n->links[k]->ext_name && !ext_target(ctx->opts, n->links[k], o2, b2) && !strcmp(o2, out)) {
				pr_err("network namespace: veths '%s' and '%s' would both have host end '%s'",
				       n->links[k]->name, l->name, out);
				return -EEXIST;
			}
		}
	}
	return 0;
}

int net_restore_prepare(struct rst_ctx *ctx, NetnsEntry *n)
{
	_cleanup_close_ int hsk = -1;
	int ret;

	/* every name the host ends take must be free before anything exists */
	if ((ret = check_host(ctx, n)))
		return ret;
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

		if (!strcmp(l->kind, "macvlan") && !l->lower_inside) {
			ext_lower(ctx->opts, l, out);
			ret = create_macvlan(hsk, l, if_nametoindex(out), rnet.net);
			/* the dumped tree's macvlan may still hold the MAC (or, in
			 * passthru mode, the link: EINVAL) while its namespace is torn down */
			for (int w = 0; w < 150 && (ret == -EADDRINUSE || ret == -EBUSY ||
						    (ret == -EINVAL && l->macvlan_mode == MACVLAN_MODE_PASSTHRU)); w++) {
				usleep(20000);
				ret = create_macvlan(hsk, l, if_nametoindex(out), rnet.net);
			}
			if (ret) {
				pr_err("network namespace: cannot create macvlan '%s' on host link '%s': %s",
				       l->name, out, strerror(-ret));
				return ret;
			}
			continue;
		}
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
		ret = set_link(hsk, l, br[0] ? (int)if_nametoindex(br) : 0, true, true);
		l->ext_name = saved;
		if (ret) {
			pr_err("network namespace: cannot set up '%s'%s%s: %s", out,
			       br[0] ? " on bridge " : "", br, strerror(-ret));
			return ret;
		}
	}
	if ((ret = fault_inject("after-netdev")))
		return ret;
	if ((ret = net_enter()))
		return ret;
	ret = configure_inside(n);
	if (net_leave() < 0)
		abort();
	if (!ret)
		ret = fault_inject("after-netconf");
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

/* The tree's network namespace made by net_restore_prepare(), or -1. */
int net_ns_fd(void)
{
	return rnet.net;
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
