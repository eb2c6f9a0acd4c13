/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Mount namespace. The root's mounts come from /proc/ROOT/mountinfo, ordered
 * parents first, and are compared with lxc-cr's own: a mount with the same
 * device, root, mountpoint and type as one of lxc-cr's, and not on a mount of
 * the tree's own, was inherited (CLONE_NEWNS copies the caller's mounts) and
 * is "external": the restore starts from a copy of lxc-cr's namespace, so it
 * is there again. The tree's own mounts are recorded and re-created on top:
 * proc, sysfs, tmpfs (with its files, in tmpfs-ID.img), devpts (a new
 * instance), overlayfs (its layers), binds of host directories (a mount whose
 * device lxc-cr also has mounted: its host path is the host mount's
 * mountpoint plus the rest of its root) and binds of what another of the
 * tree's own mounts holds (/dev/console from the devpts), with their peer
 * groups and masters when these stay in the tree. Other filesystems are
 * refused.
 *
 * A root filesystem of the tree's own (a container that pivot_root'ed, as
 * libvirt's LXC driver builds it) is a bind of a host directory: the restore
 * binds it (or --root DIR) onto itself, mounts the rest below it and pivots
 * into it. That happens in a helper before any task exists; lxc-cr then
 * enters the namespace to open the tree's files and to clone its root, so
 * every path is looked up in the tree's view, and proc and sysfs are mounted
 * by the root in its own PID and network namespaces.
 */
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>

#include "ns/ns.h"
#include "restore/restore.h"

#define TMPFS_MAX_FILE (32u << 20)
#define TMPFS_MAX_TOTAL (256u << 20)

struct mi {
	unsigned id, parent;
	dev_t dev;
	char *root, *mnt, *opts, *tags, *fstype, *source, *super;
	bool own;
};

struct mi_list {
	struct mi *m;
	unsigned nr;
	char *buf;
};

/* Undo mountinfo's octal escapes (\040 and friends) in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

static void mi_free(struct mi_list *l)
{
	free(l->m);
	free(l->buf);
	l->m = NULL;
	l->buf = NULL;
	l->nr = 0;
}

static int mi_read(const char *path, struct mi_list *l)
{
	char *line, *next;

	l->buf = read_file_at(AT_FDCWD, path, NULL);
	if (!l->buf) {
		pr_perror("cannot read %s", path);
		return -errno ? -errno : -EIO;
	}
	for (line = l->buf; *line; line = next) {
		char *f[7], *sep, *p;
		unsigned maj, min;
		struct mi *m, *n;
		int i;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		sep = strstr(line, " - ");
		if (!sep)
			goto bad;
		*sep = '\0';
		p = line;
		for (i = 0; i < 6; i++) {
			f[i] = strsep(&p, " ");
			if (!f[i])
				goto bad;
		}
		f[6] = p ? p : "";	/* optional fields */
		n = xrealloc_array(l->m, l->nr + 1, sizeof(*l->m));
		if (!n)
			return -ENOMEM;
		l->m = n;
		m = &l->m[l->nr];
		memset(m, 0, sizeof(*m));
		if (sscanf(f[0], "%u", &m->id) != 1 || sscanf(f[1], "%u", &m->parent) != 1 ||
		    sscanf(f[2], "%u:%u", &maj, &min) != 2)
			goto bad;
		m->dev = makedev(maj, min);
		m->root = f[3];
		m->mnt = f[4];
		m->opts = f[5];
		m->tags = f[6];
		p = sep + 3;
		m->fstype = strsep(&p, " ");
		m->source = strsep(&p, " ");
		m->super = p ? p : "";
		if (!m->fstype || !m->source)
			goto bad;
		unescape(m->root);
		unescape(m->mnt);
		unescape(m->source);
		l->nr++;
	}
	return 0;
bad:
	pr_err("%s: cannot parse line '%s'", path, line);
	return -EINVAL;
}

static bool has_opt(const char *list, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, opt, n) && (p[n] == ',' || !p[n] || p[n] == ' '))
			return true;
	return false;
}

/* The number after tag ("shared:", "master:") in mountinfo's optional fields, or 0. */
static uint32_t tag_id(const char *tags, const char *tag)
{
	const char *p = strstr(tags, tag);

	return p ? (uint32_t)strtoul(p + strlen(tag), NULL, 10) : 0;
}

/* Whether any of lxc-cr's mounts is in peer group id. */
static bool host_has_group(const struct mi_list *host, uint32_t id)
{
	for (unsigned i = 0; i < host->nr; i++)
		if (tag_id(host->m[i].tags, "shared:") == id)
			return true;
	return false;
}

static uint32_t mnt_flags(const char *opts)
{
	static const struct { const char *name; uint32_t flag; } map[] = {
		{ "ro", MS_RDONLY },	     { "nosuid", MS_NOSUID },	  { "nodev", MS_NODEV },
		{ "noexec", MS_NOEXEC },     { "noatime", MS_NOATIME }, { "nodiratime", MS_NODIRATIME },
		{ "relatime", MS_RELATIME }, { "strictatime", MS_STRICTATIME },
	};
	uint32_t f = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (has_opt(opts, map[i].name))
			f |= map[i].flag;
	return f;
}

/* Superblock options worth passing again: all but rw/ro and the LSM's. */
static char *super_opts(const char *super, const char *extra)
{
	size_t n = strlen(super) + (extra ? strlen(extra) : 0) + 2;
	char *out = xzalloc(n), *copy = xstrdup(super), *p = copy, *o;

	if (!out || !copy) {
		free(out);
		free(copy);
		return NULL;
	}
	while ((o = strsep(&p, ","))) {
		if (!*o || !strcmp(o, "rw") || !strcmp(o, "ro") || !strcmp(o, "seclabel"))
			continue;
		if (*out)
			strcat(out, ",");
		strcat(out, o);
	}
	if (extra && !has_opt(out, extra)) {
		if (*out)
			strcat(out, ",");
		strcat(out, extra);
	}
	free(copy);
	return out;
}

/* The host directory a mount of the tree shows, found through lxc-cr's
 * mounts of the same device; NULL when lxc-cr has none. */
static char *host_path(const struct mi *m, const struct mi_list *host)
{
	const struct mi *best = NULL;
	const char *rest;
	size_t blen = 0;
	char *out;

	for (unsigned i = 0; i < host->nr; i++) {
		const struct mi *h = &host->m[i];
		size_t n = strlen(h->root);

		if (h->dev != m->dev || strncmp(h->root, m->root, n))
			continue;
		if (n > 1 && m->root[n] && m->root[n] != '/')
			continue;
		if (!best || n > blen) {
			best = h;
			blen = n;
		}
	}
	if (!best)
		return NULL;
	rest = strcmp(best->root, "/") ? m->root + blen : m->root;
	if (!strcmp(rest, "/"))
		rest = "";
	out = xzalloc(strlen(best->mnt) + strlen(rest) + 2);
	if (!out)
		return NULL;
	if (strcmp(best->mnt, "/") || !*rest)
		strcpy(out, best->mnt);
	strcat(out, rest);
	return out;
}

/* A mount that shows part of another of the tree's own mounts (the console
 * slave bound from the tree's devpts on /dev/console, a tmpfs bound
 * elsewhere): the path of its source as the tree sees it, or NULL. The
 * other mount must come first, so that it exists when this one is bound. */
static char *tree_path(const struct mi *m, const struct mi_list *ct, unsigned upto)
{
	const struct mi *best = NULL;
	const char *rest, *base;
	size_t blen = 0, n;

	for (unsigned k = 0; k < upto; k++) {
		const struct mi *o = &ct->m[k];
		size_t len = strlen(o->root);

		if (!o->own || o->dev != m->dev || strncmp(o->root, m->root, len))
			continue;
		if (len > 1 && m->root[len] && m->root[len] != '/')
			continue;
		if (!best || len > blen) {
			best = o;
			blen = len;
		}
	}
	if (!best)
		return NULL;
	rest = strcmp(best->root, "/") ? m->root + blen : m->root;
	if (!strcmp(rest, "/"))
		rest = "";
	base = strcmp(best->mnt, "/") || !*rest ? best->mnt : "";
	/* a bound file since removed (the console pty of an earlier restore) */
	n = strlen(rest);
	if (n > 9 && !strcmp(rest + n - 9, "//deleted"))
		n -= 9;
	return xsprintf("%s%.*s", base, (int)n, rest);
}

/*
 * A bind of a sysctl directory of a proc that is not the tree's (libvirt
 * binds /proc/sys/net/ipv4 and ipv6 from the host's proc over the container's
 * read-only /proc/sys): what /proc/sys shows follows the opener's namespaces,
 * not the superblock's, so it is bound again from the tree's own proc at the
 * same path. The path of that source in the tree's view, or NULL.
 */
static char *proc_sys_path(const struct mi *m, const struct mi_list *ct, unsigned upto)
{
	const struct mi *proc = NULL;

	if (strcmp(m->fstype, "proc") || strncmp(m->root, "/sys/", 5))
		return NULL;
	for (unsigned k = 0; k < upto; k++) {
		const struct mi *o = &ct->m[k];

		if (!o->own || strcmp(o->fstype, "proc") || strcmp(o->root, "/"))
			continue;
		if (o->dev == m->dev)
			return NULL;	/* a bind of the tree's own proc: tree_path() */
		if (!proc || !strcmp(o->mnt, "/proc"))
			proc = o;
	}
	if (!proc)
		return NULL;
	return xsprintf("%s%s", strcmp(proc->mnt, "/") ? proc->mnt : "", m->root);
}

static int ovl_count(const char *path, void *nr)
{
	(void)path;
	(*(unsigned *)nr)++;
	return 0;
}

static bool inherited(const struct mi *m, const struct mi_list *host)
{
	for (unsigned i = 0; i < host->nr; i++) {
		const struct mi *h = &host->m[i];

		if (h->dev == m->dev && !strcmp(h->root, m->root) && !strcmp(h->mnt, m->mnt) &&
		    !strcmp(h->fstype, m->fstype))
			return true;
	}
	return false;
}

/* Put l->m[i] into out, then every mount passed over so far (below pos)
 * because it was waiting for it, in mountinfo's order. */
static void mi_emit(struct mi_list *l, struct mi *out, unsigned *n, bool *done, unsigned i, unsigned pos)
{
	out[(*n)++] = l->m[i];
	done[i] = true;
	for (unsigned k = 0; k < pos; k++)
		if (!done[k] && l->m[k].parent == l->m[i].id && k != i)
			mi_emit(l, out, n, done, k, pos);
}

/*
 * Order l so that every mount comes after its parent (when listed), keeping
 * mountinfo's order otherwise: a mount listed before its parent (libvirt
 * moves /dev/pts and /dev into the container's root after mounting them, so
 * their ids are older than the root's) comes right after the parent, and so
 * do its own children. Its other children keep their places, after it: binds
 * of what it holds (/dev/ptmx, /dev/console from /dev/pts) find their source
 * mounted first.
 */
static int mi_sort(struct mi_list *l)
{
	struct mi *out = xzalloc(sizeof(*out) * (l->nr + 1));
	bool *done = xzalloc(l->nr + 1);
	unsigned n = 0;
	int ret = 0;

	if (!out || !done) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < l->nr; i++) {
		bool ready = true;

		if (done[i])
			continue;
		for (unsigned k = 0; k < l->nr; k++)
			if (k != i && !done[k] && l->m[k].id == l->m[i].parent)
				ready = false;
		if (ready)
			mi_emit(l, out, &n, done, i, i + 1);
	}
	if (n != l->nr) {
		pr_err("mountinfo: mounts form a loop; cannot order them");
		ret = -EINVAL;
		goto out;
	}
	free(l->m);
	l->m = out;
	out = NULL;
out:
	free(out);
	free(done);
	return ret;
}

/* ---------------------------------------------------------------- overlayfs */

/*
 * The layers of an overlay mount are the paths its mounter gave
 * (lowerdir=A:B,upperdir=U,workdir=W in its superblock options), seen from
 * the mounter's root: the tree's when the container mounted it, the host's
 * when its launcher did before pivoting. Call fn on each; stop at the first
 * non-zero return.
 */
static int ovl_layers(const char *opts, int (*fn)(const char *path, void *arg), void *arg)
{
	_cleanup_free_ char *copy = xstrdup(opts);
	char *p = copy, *o;
	int ret;

	if (!copy)
		return -ENOMEM;
	while ((o = strsep(&p, ","))) {
		char *v = strchr(o, '='), *l;

		if (!v)
			continue;
		*v++ = '\0';
		if (!strcmp(o, "lowerdir+") || !strcmp(o, "datadir+") || strchr(v, '\\'))
			return -EINVAL;	/* appended layers, escaped separators: not yet */
		if (strcmp(o, "lowerdir") && strcmp(o, "upperdir") && strcmp(o, "workdir"))
			continue;
		while ((l = strsep(&v, ":")))
			if ((ret = fn(l, arg)))
				return ret;
	}
	return 0;
}

struct ovl_where {
	pid_t root;
	unsigned in_tree, in_host, bad;
};

static int ovl_where_one(const char *path, void *arg)
{
	struct ovl_where *w = arg;
	char p[PATH_MAX + 64];
	struct stat st;

	if (path[0] != '/') {
		w->bad++;
		return 0;
	}
	snprintf(p, sizeof(p), "/proc/%d/root%s", w->root, path);
	if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
		w->in_tree++;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		w->in_host++;
	return 0;
}

/* Whether the layers of overlay m are paths of the tree (1), of lxc-cr (0). */
static int ovl_dump(pid_t root, const struct mi *m)
{
	struct ovl_where w = { .root = root };
	unsigned nr;
	int ret = ovl_layers(m->super, ovl_where_one, &w);

	nr = w.bad;
	ovl_layers(m->super, ovl_count, &nr);
	if (ret || w.bad) {
		pr_err("overlay %s: its layers (%s) are not given as plain absolute paths; not supported",
		       m->mnt, m->super);
		return -ENOTSUP;
	}
	if (w.in_tree == nr)
		return 1;
	if (w.in_host == nr)
		return 0;
	pr_err("overlay %s: its layers (%s) are directories neither of the tree nor of the host; not supported",
	       m->mnt, m->super);
	return -ENOTSUP;
}

/* ---------------------------------------------------------------- dump: tmpfs */

static struct {
	struct cr_img *img;
	const char *top;
	size_t top_len, total;
	const char *mnt;
	int err;
} walk;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	TmpfsFile f = TMPFS_FILE__INIT;
	char target[PATH_MAX];
	_cleanup_free_ uint8_t *data = NULL;
	int ret;

	(void)type;
	(void)ftw;
	f.path = (char *)path + walk.top_len;
	if (*f.path == '/')
		f.path++;
	f.mode = st->st_mode;
	f.uid = st->st_uid;
	f.gid = st->st_gid;
	f.atime_ns = st->st_atim.tv_sec * 1000000000LL + st->st_atim.tv_nsec;
	f.mtime_ns = st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		f.has_rdev = true;
		f.rdev = st->st_rdev;
	} else if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlink(path, target, sizeof(target) - 1);

		if (n < 0) {
			pr_perror("tmpfs %s: cannot read the symlink %s", walk.mnt, f.path);
			walk.err = -errno;
			return 1;
		}
		target[n] = '\0';
		f.target = target;
	} else if (S_ISREG(st->st_mode)) {
		_cleanup_close_ int fd = -1;
		size_t len = st->st_size;

		walk.total += len;
		if (len > TMPFS_MAX_FILE || walk.total > TMPFS_MAX_TOTAL) {
			pr_err("tmpfs %s: file %s makes it hold more than we save (%u MiB a file, %u MiB in all); not supported",
			       walk.mnt, f.path, TMPFS_MAX_FILE >> 20, TMPFS_MAX_TOTAL >> 20);
			walk.err = -EFBIG;
			return 1;
		}
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
		if (fd < 0)
			fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		data = malloc(len ? len : 1);
		if (fd < 0 || !data || read_all(fd, data, len) < 0) {
			pr_perror("tmpfs %s: cannot read %s", walk.mnt, f.path);
			walk.err = errno ? -errno : -EIO;
			return 1;
		}
		f.has_data = true;
		f.data.data = data;
		f.data.len = len;
	} else if (S_ISSOCK(st->st_mode)) {
		pr_err("tmpfs %s: %s is a unix socket; not supported", walk.mnt, f.path);
		walk.err = -ENOTSUP;
		return 1;
	}
	ret = img_write_pb(walk.img, &f.base);
	if (ret) {
		walk.err = ret;
		return 1;
	}
	return 0;
}

static int dump_tmpfs(struct dump_ctx *ctx, pid_t root, const struct mi *m)
{
	char top[PATH_MAX];
	struct stat st;
	int ret;

	snprintf(top, sizeof(top), "/proc/%d/root%s", root, m->mnt);
	if (stat(top, &st) < 0 || st.st_dev != m->dev) {
		pr_err("tmpfs %s: cannot be reached (another mount covers it); not supported", m->mnt);
		return -ENOTSUP;
	}
	memset(&walk, 0, sizeof(walk));
	walk.img = img_open(&ctx->dir, IMG_TMPFS, m->id, true);
	if (!walk.img)
		return -EIO;
	walk.top = top;
	walk.top_len = strlen(top);
	walk.mnt = m->mnt;
	ret = nftw(top, walk_one, 16, FTW_PHYS | FTW_MOUNT);
	if (ret < 0 && !walk.err) {
		pr_perror("tmpfs %s: cannot walk it", m->mnt);
		walk.err = -errno;
	}
	ret = img_close(walk.img);
	return walk.err ? walk.err : ret;
}

/* ---------------------------------------------------------------- dump */

static int record(MntEntry ***out, size_t *n, const struct mi *m, const char *fstype,
		  char *source, char *options, bool is_root, const struct mi_list *ct)
{
	MntEntry *e = xzalloc(sizeof(*e)), **v = xrealloc_array(*out, *n + 1, sizeof(*v));

	if (v)
		*out = v;
	if (!e || !v) {
		free(e);
		free(source);
		free(options);
		return -ENOMEM;
	}
	mnt_entry__init(e);
	(*out)[(*n)++] = e;
	e->id = m->id;
	for (unsigned i = 0; i < ct->nr; i++)
		if (ct->m[i].id == m->parent && ct->m[i].own && &ct->m[i] != m)
			e->parent = m->parent;
	e->mountpoint = xstrdup(m->mnt);
	e->fstype = xstrdup(fstype);
	e->source = source;
	e->options = options;
	e->flags = mnt_flags(m->opts);
	if (is_root) {
		e->has_is_root = true;
		e->is_root = true;
	}
	return e->mountpoint && e->fstype ? 0 : -ENOMEM;
}

int mnt_dump(struct dump_ctx *ctx, pid_t root, NsEntry *e)
{
	struct mi_list host = { 0 }, ct = { 0 };
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", root);
	if ((ret = mi_read("/proc/self/mountinfo", &host)) || (ret = mi_read(path, &ct)))
		goto out;
	/* parents first: a moved mount keeps its place in mountinfo (libvirt moves /dev) */
	if ((ret = mi_sort(&ct)))
		goto out;
	/* what lies on a mount of the tree's own is its own too, even where lxc-cr
	 * has the same (a cgroup hierarchy mounted by the container on its tmpfs) */
	for (unsigned i = 0; i < ct.nr; i++) {
		ct.m[i].own = !inherited(&ct.m[i], &host);
		for (unsigned k = 0; k < i; k++)
			if (ct.m[k].id == ct.m[i].parent && ct.m[k].own)
				ct.m[i].own = true;
	}
	for (unsigned i = 0; i < ct.nr; i++) {
		struct mi *m = &ct.m[i];
		char *src = NULL, *opts = NULL;
		const char *type = m->fstype;
		uint32_t shared, master;
		bool in_tree = false, layers_in_tree = false, outer = false;

		if (!m->own) {
			for (unsigned k = 0; k < ct.nr; k++)
				if (ct.m[k].id == m->parent && ct.m[k].own && k != i) {
					pr_err("mount %s (%s) inherited from lxc-cr lies on the tree's own mount %s; not supported",
					       m->mnt, m->fstype, ct.m[k].mnt);
					ret = -ENOTSUP;
					goto out;
				}
			continue;
		}
		for (unsigned k = i + 1; k < ct.nr; k++)
			if (ct.m[k].id == m->parent && ct.m[k].own) {
				pr_err("mount %s is listed before its parent %s; not supported", m->mnt,
				       ct.m[k].mnt);
				ret = -ENOTSUP;
				goto out;
			}
		shared = tag_id(m->tags, "shared:");
		master = tag_id(m->tags, "master:");
		if (shared && host_has_group(&host, shared)) {
			pr_err("mount %s (%s) is shared with mounts outside the tree (peer group %u); not supported",
			       m->mnt, m->fstype, shared);
			ret = -ENOTSUP;
			goto out;
		}
		if (master && host_has_group(&host, master)) {
			pr_info("mount %s (%s) is a slave of mounts outside the tree: it is restored without that master",
				m->mnt, m->fstype);
			master = 0;
		}
		/* a FUSE superblock is fuse.c's; a bind of its files is held for later there */
		ret = fuse_dump_mount(ctx, root, &(struct mnt_info){ m->id, m->parent, m->dev, m->root, m->mnt,
								    m->fstype, m->super });
		if (ret < 0)
			goto out;
		if (ret == 2) {		/* external: its source is given at restore */
			ret = 0;
			type = "bind";
			src = xstrdup(m->mnt);
		} else if (ret) {
			ret = 0;
			src = xstrdup(m->source);
		} else if ((src = proc_sys_path(m, &ct, i))) {
			type = "bind";
			in_tree = true;
			pr_info("mount %s: %s of a proc that is not the tree's: bound from the tree's own at %s",
				m->mnt, m->root, src);
		} else if ((src = host_path(m, &host))) {
			type = "bind";
		} else if ((src = tree_path(m, &ct, i))) {
			type = "bind";
			in_tree = true;
		} else if ((src = mnt_outer_source(m->dev, m->root))) {
			/* a superblock of the controller's own mounts (mnt_outer.c) */
			type = "bind";
			outer = true;
		} else if (strcmp(m->root, "/") && (!strcmp(type, "proc") || !strcmp(type, "sysfs") ||
						     !strcmp(type, "tmpfs") || !strcmp(type, "devpts"))) {
			/* a new mount would show all of it, not this part */
			pr_err("mount %s: a bind of %s of a %s filesystem (%s, %u:%u) mounted neither where lxc-cr runs nor in the tree; not supported",
			       m->mnt, m->root, m->fstype, m->source, major(m->dev), minor(m->dev));
			ret = -ENOTSUP;
			goto out;
		} else if (!strcmp(type, "proc") || !strcmp(type, "sysfs") || !strcmp(type, "tmpfs")) {
			src = xstrdup(m->source);
			opts = super_opts(m->super, NULL);
		} else if (!strcmp(type, "devpts")) {
			src = xstrdup(m->source);
			opts = super_opts(m->super, "newinstance");
		} else if (!strcmp(type, "overlay")) {
			if ((ret = ovl_dump(root, m)) < 0)
				goto out;
			layers_in_tree = ret;
			ret = 0;
			src = xstrdup(m->source);
			opts = super_opts(m->super, NULL);
		} else {
			pr_err("mount %s: filesystem type %s is not supported", m->mnt, m->fstype);
			ret = -ENOTSUP;
			goto out;
		}
		if (i == 0 && strcmp(type, "bind")) {
			pr_err("the tree's root filesystem (%s) is not a bind of a host directory; not supported",
			       m->fstype);
			free(src);
			free(opts);
			ret = -ENOTSUP;
			goto out;
		}
		ret = record(&e->mnts, &e->n_mnts, m, type, src, opts, i == 0, &ct);
		if (ret)
			goto out;
		if (in_tree) {
			e->mnts[e->n_mnts - 1]->has_src_in_tree = true;
			e->mnts[e->n_mnts - 1]->src_in_tree = true;
		}
		if (outer) {
			e->mnts[e->n_mnts - 1]->has_src_outer = true;
			e->mnts[e->n_mnts - 1]->src_outer = true;
		}
		if (layers_in_tree) {
			e->mnts[e->n_mnts - 1]->has_layers_in_tree = true;
			e->mnts[e->n_mnts - 1]->layers_in_tree = true;
		}
		if (shared) {
			e->mnts[e->n_mnts - 1]->has_shared_id = true;
			e->mnts[e->n_mnts - 1]->shared_id = shared;
		}
		if (master) {
			e->mnts[e->n_mnts - 1]->has_master_id = true;
			e->mnts[e->n_mnts - 1]->master_id = master;
		}
		pr_info("mount %s: %s %s%s%s%s", m->mnt, type, in_tree ? "(tree) " : "", src ? src : "",
			opts ? " " : "", opts ? opts : "");
		if (!strcmp(type, "tmpfs") && (ret = dump_tmpfs(ctx, root, m)))
			goto out;
	}
out:
	mi_free(&host);
	mi_free(&ct);
	return ret;
}

/* ---------------------------------------------------------------- restore */

/* An absolute path without "." or ".." components, short enough to prefix. */
static bool mnt_path_ok(const char *p)
{
	const char *c;

	if (!p || p[0] != '/' || strlen(p) >= PATH_MAX / 2)
		return false;
	for (c = p; c; c = strchr(c + 1, '/'))
		if ((c[1] == '.' && (!c[2] || c[2] == '/')) ||
		    (c[1] == '.' && c[2] == '.' && (!c[3] || c[3] == '/')))
			return false;
	return true;
}

int mnt_check(NsEntry *e)
{
	for (size_t i = 0; i < e->n_mnts; i++) {
		MntEntry *m = e->mnts[i];
		bool parent_ok = !m->parent;
		static const char *const types[] = { "bind", "proc", "sysfs", "tmpfs", "devpts", "overlay" };
		bool type_ok = false;

		for (size_t k = 0; k < i; k++)
			if (e->mnts[k]->id == m->parent)
				parent_ok = true;
		for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
			if (!strcmp(m->fstype, types[k]))
				type_ok = true;
		if (fuse_fstype(m->fstype))
			type_ok = true;
		if (!(e->flags & CLONE_NEWNS) || !mnt_path_ok(m->mountpoint) ||
		    !parent_ok || !type_ok || (!strcmp(m->fstype, "bind") && !mnt_path_ok(m->source)) ||
		    (m->is_root && (i || strcmp(m->mountpoint, "/"))) || !m->id ||
		    (m->src_outer && (strcmp(m->fstype, "bind") || !e->has_ct_pid || m->src_in_tree)) ||
		    (!strcmp(m->fstype, "overlay") && (!m->options || strlen(m->options) >= PATH_MAX))) {
			pr_err("image ns.img: mount %u at %s is invalid", m->id, m->mountpoint);
			return -EINVAL;
		}
	}
	return 0;
}

static int mkdir_p(char *path, mode_t mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int tmpfs_fill(struct rst_ctx *ctx, const MntEntry *m, const char *top)
{
	struct cr_img *img = img_open(&ctx->dir, IMG_TMPFS, m->id, false);
	TmpfsFile **files = NULL;
	size_t nr = 0;
	int ret = 0, fd = -1;

	if (!img)
		return -EIO;
	for (;;) {
		TmpfsFile *f, **n;

		ret = img_read_pb(img, &tmpfs_file__descriptor, (void **)&f);
		if (ret <= 0)
			break;
		n = xrealloc_array(files, nr + 1, sizeof(*n));
		if (!n) {
			img_free_pb(f);
			ret = -ENOMEM;
			break;
		}
		files = n;
		files[nr++] = f;
	}
	img_close(img);
	/* as the tree's root: a tmpfs mounted in its user namespace makes files for
	 * ids mapped there only (the owners saved are the host's, set as such) */
	if (!ret)
		ret = ns_fsids_root(true);
	for (size_t i = 0; !ret && i < nr; i++) {
		TmpfsFile *f = files[i];
		char p[PATH_MAX];
		mode_t perm = f->mode & 07777;

		if (strstr(f->path, "..") || f->path[0] == '/' ||
		    snprintf(p, sizeof(p), "%s/%s", top, f->path) >= (int)sizeof(p)) {
			pr_err("image tmpfs-%u.img: bad path '%s'", m->id, f->path);
			ret = -EINVAL;
			break;
		}
		if (!*f->path) {
			if (!S_ISDIR(f->mode))
				ret = -EINVAL;
		} else if (S_ISDIR(f->mode)) {
			if (mkdir(p, perm) < 0 && errno != EEXIST)
				ret = -errno;
		} else if (S_ISLNK(f->mode)) {
			if (!f->target || symlink(f->target, p) < 0)
				ret = f->target ? -errno : -EINVAL;
		} else if (S_ISREG(f->mode)) {
			fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd < 0 || (f->has_data && write_all(fd, f->data.data, f->data.len) < 0))
				ret = -errno;
			close(fd);
		} else if (S_ISCHR(f->mode) || S_ISBLK(f->mode) || S_ISFIFO(f->mode)) {
			if (mknod(p, f->mode, f->rdev) < 0)
				ret = -errno;
		} else {
			ret = -EINVAL;
		}
		if (!ret && fchownat(AT_FDCWD, p, f->uid, f->gid, AT_SYMLINK_NOFOLLOW) < 0)
			ret = -errno;
		if (!ret && !S_ISLNK(f->mode) && chmod(p, perm) < 0)
			ret = -errno;
		if (ret)
			pr_err("tmpfs %s: cannot re-create %s: %s", m->mountpoint, f->path, strerror(-ret));
	}
	/* times last, deepest first: creating a file changes its directory's */
	for (size_t i = nr; !ret && i-- > 0;) {
		char p[PATH_MAX];
		struct timespec ts[2] = {
			{ files[i]->atime_ns / 1000000000LL, files[i]->atime_ns % 1000000000LL },
			{ files[i]->mtime_ns / 1000000000LL, files[i]->mtime_ns % 1000000000LL },
		};

		if (snprintf(p, sizeof(p), "%s/%s", top, files[i]->path) >= (int)sizeof(p))
			continue;
		if (utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) < 0) {
			pr_perror("tmpfs %s: cannot set the times of %s", m->mountpoint, files[i]->path);
			ret = -errno;
		}
	}
	ns_fsids_root(false);
	for (size_t i = 0; i < nr; i++)
		img_free_pb(files[i]);
	free(files);
	return ret;
}

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

/* The tree's mount namespace, built before any task; lxc-cr's own to go back;
 * per mount, a detached copy of a host directory that the root task binds
 * once the host is out of its view (see mnt_restore_sources()). */
static struct {
	int ns, own, cwd;
	bool inside;
	int *late_src;
	size_t nr_late_src;
} rmnt = { -1, -1, -1, false, NULL, 0 };

/*
 * Propagation as the tree had it. A bind from a member of a shared peer group
 * joins the group by itself (the first member was made shared as soon as it
 * was mounted), so a later peer needs nothing more; a slave was bound from a
 * member of its master's group and leaves it with MS_SLAVE; the first member
 * of a group (or a shared slave) gets a group of its own with MS_PRIVATE (from
 * what a bind or a shared parent gave it) and MS_SHARED. The rest is made
 * private: nothing built here may propagate to or from the host.
 */
static int mnt_propagation(const NsEntry *e, const MntEntry *m, const char *target)
{
	bool shared = m->has_shared_id && m->shared_id, slave = m->has_master_id && m->master_id;
	bool peer = false;

	for (size_t k = 0; shared && k < e->n_mnts && e->mnts[k] != m; k++)
		if (e->mnts[k]->has_shared_id && e->mnts[k]->shared_id == m->shared_id)
			peer = true;
	if (peer)
		return 0;
	if (slave && mount(NULL, target, NULL, MS_SLAVE, NULL) < 0) {
		pr_perror("cannot make mount %s a slave", target);
		return -errno;
	}
	if (!slave && mount(NULL, target, NULL, MS_PRIVATE, NULL) < 0) {
		pr_perror("cannot make mount %s private", target);
		return -errno;
	}
	if (shared && mount(NULL, target, NULL, MS_SHARED, NULL) < 0) {
		pr_perror("cannot make mount %s shared", target);
		return -errno;
	}
	return 0;
}

/*
 * The console's slave is bound on /dev/console from the tree's devpts, but
 * its master is held outside the tree and was not saved: the pty no longer
 * exists. Open the instance's ptmx until it hands out index idx, so that the
 * node exists while it is bound; the masters are closed again once the
 * phase's mounts are made (devpts_release()),
 * leaving /dev/console on a hung-up pty until its owner (a caller that
 * declared the console external) binds a new one.
 */
static int devpts_hold(const char *src, int *held, int max, int *nr)
{
	const char *slash = strrchr(src, '/');
	_cleanup_free_ char *ptmx = NULL;
	char *end;
	long idx;

	*nr = 0;
	if (!slash)
		return -ENOENT;
	idx = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || idx < 0 || idx >= max)
		return -ENOENT;
	ptmx = xsprintf("%.*s/ptmx", (int)(slash - src), src);
	if (!ptmx)
		return -ENOMEM;
	while (*nr < max) {
		int fd = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC), n;

		if (fd < 0)
			return -errno;
		held[(*nr)++] = fd;
		if (ioctl(fd, TIOCGPTN, &n) < 0)
			return -errno;
		if (n == idx) {
			int unlock = 0;

			return ioctl(fd, TIOCSPTLCK, &unlock) < 0 ? -errno : 0;
		}
		if (n > idx)
			return -EBUSY;
	}
	return -EBUSY;
}

struct ovl_opts {
	char *out;
	size_t len;
	const char *prefix;
};

/* Overlay options with each layer of the tree's view under prefix (where the
 * tree's root is while the helper builds it). */
static char *ovl_options(const MntEntry *m, const char *prefix)
{
	_cleanup_free_ char *copy = xstrdup(m->options);
	char *p = copy, *o, *out;
	size_t cap;

	if (!copy)
		return NULL;
	cap = strlen(m->options) * (strlen(prefix) + 2) + 1;
	out = xzalloc(cap);
	if (!out)
		return NULL;
	while ((o = strsep(&p, ","))) {
		char *v = strchr(o, '='), *l;
		bool layer;

		if (*out)
			strcat(out, ",");
		if (!v) {
			strcat(out, o);
			continue;
		}
		*v++ = '\0';
		layer = m->layers_in_tree && (!strcmp(o, "lowerdir") || !strcmp(o, "upperdir") ||
					     !strcmp(o, "workdir"));
		strcat(out, o);
		strcat(out, "=");
		for (bool first = true; (l = strsep(&v, ":")); first = false) {
			if (!first)
				strcat(out, ":");
			if (layer)
				strcat(out, prefix);
			strcat(out, l);
		}
	}
	return out;
}

/* The detached copy of m's host directory, or -1. */
static int late_source(const NsEntry *e, const MntEntry *m)
{
	for (size_t i = 0; i < e->n_mnts && i < rmnt.nr_late_src; i++)
		if (e->mnts[i] == m)
			return rmnt.late_src[i];
	return -1;
}

#ifndef FSCONFIG_SET_FLAG
#define FSCONFIG_SET_FLAG 0
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif

/*
 * A tmpfs of a tree with a user namespace, made in that namespace (its
 * superblock owned by it, as when the tree mounted it: its root may remount
 * it) and moved onto target; its options are parsed as lxc-cr's (the ids in
 * uid=/gid= are the host's, as saved). -ENOENT without a user namespace.
 */
static int tmpfs_mount_userns(const MntEntry *m, const char *target)
{
	_cleanup_free_ char *opts = m->options ? xstrdup(m->options) : NULL;
	_cleanup_close_ int fs = ns_user_fsopen("tmpfs"), mnt = -1;
	char *o, *save = NULL;

	if (fs < 0)
		return fs;
	if (m->options && !opts)
		return -ENOMEM;
	for (o = opts ? strtok_r(opts, ",", &save) : NULL; o; o = strtok_r(NULL, ",", &save)) {
		char *v = strchr(o, '=');
		long r;

		if (v)
			*v++ = '\0';
		r = v ? syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, o, v, 0)
		      : syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, o, NULL, 0);
		if (r < 0) {
			pr_perror("tmpfs %s: cannot pass the option %s%s%s", m->mountpoint, o, v ? "=" : "",
				  v ? v : "");
			return -errno;
		}
	}
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (mnt = syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0)) < 0 ||
	    syscall(SYS_move_mount, mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		pr_perror("tmpfs %s: cannot mount it in the tree's user namespace", m->mountpoint);
		return -errno;
	}
	return 0;
}

/*
 * Masters opened by devpts_hold(), kept until every mount of the phase is
 * made: libvirt binds the console's pty on /dev/tty1 and /dev/console, and
 * the second bind must find the node the first one made (one pty, not two
 * with the same index).
 */
static struct {
	int fd[64];
	int nr;
} pty_held;

static void devpts_release(void)
{
	while (pty_held.nr > 0)
		close(pty_held.fd[--pty_held.nr]);
}

static int mount_one(struct rst_ctx *ctx, const MntEntry *m, const char *prefix)
{
	char target[PATH_MAX], source[PATH_MAX];
	bool bind = !strcmp(m->fstype, "bind");
	int nr_held = 0, tree;
	_cleanup_free_ char *ovl = NULL;
	struct stat st;
	int ret;

	if (fuse_mnt_held(m))	/* a bind of a FUSE fs's file: made once its server runs */
		return 0;
	if (snprintf(target, sizeof(target), "%s%s", prefix, m->mountpoint) >= (int)sizeof(target) ||
	    snprintf(source, sizeof(source), "%s%s", m->src_in_tree ? prefix : "",
		     m->source ? m->source : m->fstype) >= (int)sizeof(source)) {
		pr_err("mount %s: path too long", m->mountpoint);
		return -ENAMETOOLONG;
	}
	if (bind && m->src_in_tree && lstat(source, &st) < 0 && errno == ENOENT) {
		ret = devpts_hold(source, pty_held.fd + pty_held.nr,
				  ARRAY_SIZE(pty_held.fd) - pty_held.nr, &nr_held);
		pty_held.nr += nr_held;
		if (ret) {
			pr_err("mount %s: its source %s (on the tree's own mounts) is gone and cannot be made again: %s",
			       m->mountpoint, m->source, strerror(-ret));
			goto out;
		}
		pr_info("mount %s: %s was a pty held outside the tree; bound on a new one", m->mountpoint,
			m->source);
	}
	if (bind && stat(source, &st) == 0 && !S_ISDIR(st.st_mode)) {
		int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
	} else if ((ret = mkdir_p(target, 0755))) {
		pr_err("cannot create the mountpoint %s: %s", target, strerror(-ret));
		goto out;
	}
	if (bind && ((tree = late_source(ctx->ns, m)) >= 0 || (tree = fuse_ext_tree(m)) >= 0))
		ret = syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
	else if (bind)
		ret = mount(source, target, NULL, MS_BIND, NULL);
	else if (!strcmp(m->fstype, "overlay") && !(ovl = ovl_options(m, prefix)))
		ret = -1, errno = ENOMEM;
	else if (ovl)
		ret = mount(source, target, m->fstype, m->flags & ~MS_RDONLY, ovl);
	else if (!strcmp(m->fstype, "tmpfs") && (ret = tmpfs_mount_userns(m, target)) != -ENOENT)
		ret = ret < 0 ? (errno = -ret, -1) : 0;
	else if (fuse_fstype(m->fstype))
		ret = (ret = fuse_mount(ctx, m, target)) < 0 ? (errno = -ret, -1) : 0;
	else
		ret = mount(source, target, m->fstype, m->flags & ~MS_RDONLY, m->options);
	if (ret < 0) {
		ret = -errno;
		pr_perror("cannot mount %s %s on %s", m->fstype, source, target);
		goto out;
	}
	if (!strcmp(m->fstype, "tmpfs") && (ret = tmpfs_fill(ctx, m, target)))
		goto out;
	/* a bind takes its source's flags: a rw bind from a ro one (the
	 * container's /proc/sys/net/ipv4 from its ro /proc/sys) is made rw */
	if ((m->flags || (bind && m->src_in_tree)) &&
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | m->flags, NULL) < 0) {
		ret = -errno;
		pr_perror("cannot set the flags 0x%x of mount %s", m->flags, target);
		goto out;
	}
	ret = mnt_propagation(ctx->ns, m, target);
out:
	return ret;
}

/*
 * When each mount is made. proc and sysfs show the namespaces of whoever
 * mounts them: they, and what lies on them, are mounted by the root task once
 * it is in the tree's PID and network namespaces (MNT_LATE,
 * mnt_restore_late()). An overlay whose layers are paths of the tree's view
 * is mounted by the helper after the pivot, with those very paths (so that
 * the next dump finds them again), and so is what lies on it (MNT_PIVOTED).
 * The rest is mounted under the new root before the pivot (MNT_EARLY).
 */
enum { MNT_EARLY, MNT_PIVOTED, MNT_LATE };

static int mnt_phase(const NsEntry *e, size_t i)
{
	int phase = MNT_EARLY;

	for (;;) {
		const MntEntry *m = e->mnts[i];
		size_t k;

		if (!strcmp(m->fstype, "proc") || !strcmp(m->fstype, "sysfs"))
			return MNT_LATE;
		if (!strcmp(m->fstype, "overlay") && m->layers_in_tree && e->mnts[0]->is_root)
			phase = MNT_PIVOTED;
		if (!m->parent)
			return phase;
		for (k = 0; k < i; k++)
			if (e->mnts[k]->id == m->parent)
				break;
		if (k == i)
			return phase;
		i = k;
	}
}

static bool mnt_late(const NsEntry *e, size_t i)
{
	return mnt_phase(e, i) == MNT_LATE;
}

/* In the helper, in its new mount namespace: everything but the late mounts. */
static int mnt_build(struct rst_ctx *ctx)
{
	NsEntry *e = ctx->ns;
	const char *prefix = "";
	size_t i = 0;
	int ret;

	/* our copy of lxc-cr's mounts: nothing done here may reach the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		pr_perror("cannot make the new mount namespace private");
		return -errno;
	}
	if (e->n_mnts && e->mnts[0]->is_root) {
		prefix = ctx->opts->root ? ctx->opts->root : e->mnts[0]->source;
		if (mount(prefix, prefix, NULL, MS_BIND, NULL) < 0) {
			pr_perror("cannot bind the root filesystem %s", prefix);
			return -errno;
		}
		i = 1;
	}
	for (; i < e->n_mnts; i++)
		if (mnt_phase(e, i) == MNT_EARLY && (ret = mount_one(ctx, e->mnts[i], prefix)))
			return ret;
	if (*prefix) {
		if (e->mnts[0]->flags &&
		    mount(NULL, prefix, NULL, MS_REMOUNT | MS_BIND | e->mnts[0]->flags, NULL) < 0) {
			pr_perror("cannot set the flags of the root filesystem %s", prefix);
			return -errno;
		}
		if (chdir(prefix) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
		    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
			pr_perror("cannot pivot into the root filesystem %s", prefix);
			return -errno;
		}
		/* pivot_root wants the new root private; its propagation comes after */
		if ((ret = mnt_propagation(e, e->mnts[0], "/")))
			return ret;
		for (i = 1; i < e->n_mnts; i++)
			if (mnt_phase(e, i) == MNT_PIVOTED && (ret = mount_one(ctx, e->mnts[i], "")))
				return ret;
	}
	devpts_release();
	return 0;
}

int mnt_restore_one(struct rst_ctx *ctx, const MntEntry *m)
{
	return m ? mount_one(ctx, m, "") : -ENOENT;
}

int mnt_restore_late(struct rst_ctx *ctx)
{
	NsEntry *e = ctx->ns;
	unsigned nr = 0;
	int ret;

	if (!e || !(e->flags & CLONE_NEWNS))
		return 0;
	for (size_t i = 0; i < e->n_mnts; i++) {
		if (!mnt_late(e, i) || e->mnts[i]->is_root)
			continue;
		if ((ret = mount_one(ctx, e->mnts[i], ""))) {
			devpts_release();
			return ret;
		}
		nr++;
	}
	devpts_release();
	pr_info("%zu mounts of the tree's own re-created (%u proc/sysfs)", e->n_mnts, nr);
	return 0;
}

int mnt_restore_prepare(struct rst_ctx *ctx)
{
	NsEntry *e = ctx->ns;
	int sp[2], go[2], ret = 0;
	char msg[512], path[64];
	ssize_t n;
	pid_t pid;

	if (!e || !(e->flags & CLONE_NEWNS))
		return 0;
	rmnt.own = rst_svc_fd(ctx, open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
	rmnt.cwd = rst_svc_fd(ctx, open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
	if (rmnt.own < 0 || rmnt.cwd < 0) {
		pr_perror("cannot open lxc-cr's own mount namespace");
		return -errno ? -errno : -EIO;
	}
	if (pipe2(sp, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(go, O_CLOEXEC) < 0) {
		ret = -errno;
		close(sp[0]);
		close(sp[1]);
		return ret;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		pr_perror("cannot fork the mount namespace helper");
		goto out;
	}
	if (pid == 0) {
		char c;

		close(sp[0]);
		close(go[1]);
		log_set_prefix("mnt: ");
		/* with a user namespace of the tree's, the mount namespace
		 * made in it (owned by it) is the one to fill */
		if (ns_user_mnt_fd() >= 0)
			ret = setns(ns_user_mnt_fd(), CLONE_NEWNS) < 0 ? -errno : 0;
		else if (mnt_outer_fd() >= 0 && setns(mnt_outer_fd(), CLONE_NEWNS) < 0)
			ret = -errno;	/* a copy of the controller's, with its mounts */
		else
			ret = unshare(CLONE_NEWNS) < 0 ? -errno : 0;
		if (ret)
			pr_perror("cannot create a mount namespace");
		else
			ret = mnt_build(ctx);
		if (ret) {
			snprintf(msg, sizeof(msg), "%s", log_last_error() ? log_last_error() : strerror(-ret));
			if (write(sp[1], msg, strlen(msg)) < 0)
				_exit(2);
			_exit(1);
		}
		if (write(sp[1], "", 1) != 1)
			_exit(2);
		/* stay until lxc-cr holds the namespace */
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(sp[1]);
	sp[1] = -1;
	close(go[0]);
	go[0] = -1;
	n = read(sp[0], msg, sizeof(msg) - 1);
	if (n == 1 && !msg[0]) {
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
		rmnt.ns = rst_svc_fd(ctx, open(path, O_RDONLY | O_CLOEXEC));
		if (rmnt.ns < 0) {
			ret = rmnt.ns;
			pr_perror("cannot open the tree's new mount namespace %s", path);
		}
	} else {
		msg[n > 0 ? n : 0] = '\0';
		pr_err("cannot build the tree's mount namespace: %s", n > 0 ? msg : "the helper died");
		ret = -EINVAL;
	}
	close(go[1]);
	go[1] = -1;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (!ret)
		pr_info("the tree's mount namespace is built (%zu mounts before its processes)",
			e->n_mnts);
out:
	if (sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	return ret;
}

/*
 * A bind of a host directory that lies on proc or sysfs (libvirt binds the
 * container's cgroup directories under /sys/fs/cgroup) is mounted by the root
 * task, which no longer sees the host: lxc-cr clones each such directory into
 * a detached mount (open_tree) beforehand, after the tree's cgroups exist, and
 * the root task attaches it with move_mount().
 */
int mnt_restore_sources(struct rst_ctx *ctx)
{
	NsEntry *e = ctx->ns;

	if (!e || !(e->flags & CLONE_NEWNS) || !e->n_mnts)
		return 0;
	rmnt.late_src = xzalloc(sizeof(int) * e->n_mnts);
	if (!rmnt.late_src)
		return -ENOMEM;
	rmnt.nr_late_src = e->n_mnts;
	for (size_t i = 0; i < e->n_mnts; i++) {
		const MntEntry *m = e->mnts[i];

		rmnt.late_src[i] = -1;
		if (!mnt_late(e, i) || strcmp(m->fstype, "bind") || m->src_in_tree || m->is_root ||
		    fuse_ext_tree(m) >= 0 || fuse_mnt_held(m))
			continue;
		/* a source among the controller's own mounts is taken there */
		if (m->src_outer && mnt_outer_enter() < 0)
			return -EIO;
		rmnt.late_src[i] = rst_svc_fd(ctx, syscall(SYS_open_tree, AT_FDCWD, m->source,
							  OPEN_TREE_CLONE | O_CLOEXEC));
		if (m->src_outer && mnt_outer_leave() < 0)
			return -EIO;
		if (rmnt.late_src[i] < 0) {
			pr_perror("mount %s: cannot take its source %s", m->mountpoint, m->source);
			return -errno;
		}
	}
	return 0;
}

int mnt_enter(void)
{
	if (rmnt.ns < 0)
		return 0;
	if (setns(rmnt.ns, CLONE_NEWNS) < 0) {
		pr_perror("cannot enter the tree's mount namespace");
		return -errno;
	}
	rmnt.inside = true;
	return 0;
}

int mnt_leave(void)
{
	if (!rmnt.inside)
		return 0;
	if (setns(rmnt.own, CLONE_NEWNS) < 0 || fchdir(rmnt.cwd) < 0) {
		pr_perror("cannot go back to lxc-cr's mount namespace");
		return -errno;
	}
	rmnt.inside = false;
	return 0;
}

void mnt_restore_fini(void)
{
	if (mnt_leave() < 0)
		abort();
	if (rmnt.ns >= 0)
		close(rmnt.ns);
	if (rmnt.own >= 0)
		close(rmnt.own);
	if (rmnt.cwd >= 0)
		close(rmnt.cwd);
	for (size_t i = 0; i < rmnt.nr_late_src; i++)
		if (rmnt.late_src[i] >= 0)
			close(rmnt.late_src[i]);
	free(rmnt.late_src);
	rmnt.late_src = NULL;
	rmnt.nr_late_src = 0;
	rmnt.ns = rmnt.own = rmnt.cwd = -1;
}

/* The tree's mount namespace built by mnt_restore_prepare(), or -1. */
int mnt_ns_fd(void)
{
	return rmnt.ns;
}

/* In mnt_outer.c's helper: mount i of the controller's own (outer_mnts). */
int mnt_mount_outer(struct rst_ctx *ctx, size_t i)
{
	NsEntry outer = NS_ENTRY__INIT;
	struct rst_ctx c = *ctx;

	outer.flags = CLONE_NEWNS;
	outer.mnts = ctx->ns->outer_mnts;
	outer.n_mnts = ctx->ns->n_outer_mnts;
	c.ns = &outer;
	return mount_one(&c, outer.mnts[i], "");
}
