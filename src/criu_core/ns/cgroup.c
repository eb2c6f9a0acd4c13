/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgroups (v1 hierarchies and cgroup2), for trees in lxc-cr's cgroup
 * namespace (ns.c refuses another one).
 *
 * Dump: the cgroup of every task in every hierarchy of the root, from
 * /proc/PID/cgroup (threads must share their leader's). The tree's own
 * cgroups in a hierarchy are the root task's cgroup and every cgroup below
 * it, when the root's is not the hierarchy's root and all of them hold
 * only processes of the tree; they are saved with the limits that matter
 * (see ctrl_props). A cgroup shared with others (lxc-cr's own, say) is
 * only named: the restore puts the task back into it and never touches it.
 *
 * Restore: while the images are read, every own cgroup must be free (an
 * existing one must hold no process); before any task exists they are
 * created and their limits written, parents first; with --cgroup-root DIR
 * the root task's cgroup in every hierarchy where it had its own is DIR
 * instead of the saved one (and what was below it is below DIR). Each
 * task writes itself into its cgroups before its children are forked and
 * long before it is seized. A failed restore removes what it created.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fault.h"
#include "ns/cgroup.h"
#include "ns/ns.h"
#include "restore/restore.h"

/* What is saved of an own cgroup, per controller, in the order written. */
static const struct ctrl_props {
	const char *ctrl;
	const char *files[4];
} ctrl_props[] = {
	{ "cpuset", { "cpuset.cpus", "cpuset.mems" } },
	{ "memory", { "memory.limit_in_bytes", "memory.soft_limit_in_bytes" } },
	{ "cpu", { "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us" } },
	{ "pids", { "pids.max" } },
	{ "devices", { "devices.list" } },
	{ "blkio", { "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
		     "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device" } },
};

struct cg_line {
	char *ctrl;	/* "memory", "cpu,cpuacct", "name=systemd", "" for cgroup2 */
	char *path;
};

static void lines_free(struct cg_line *l, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(l[i].ctrl);
		free(l[i].path);
	}
	free(l);
}

/* /proc/REL/cgroup as (controllers, path) pairs; /proc is procfd when >= 0. */
static int read_cg_lines_at(int procfd, const char *rel, struct cg_line **out, unsigned *nr)
{
	char path[96];
	_cleanup_free_ char *buf = NULL;
	struct cg_line *l = NULL;
	unsigned n = 0;
	char *s, *save = NULL;

	snprintf(path, sizeof(path), "/proc/%s/cgroup", rel);
	buf = procfd >= 0 ? read_file_at(procfd, path + 6, NULL) : read_file_at(AT_FDCWD, path, NULL);
	if (!buf) {
		pr_perror("cannot read %s", path);
		return -ESRCH;
	}
	for (s = strtok_r(buf, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		void *nl;

		if (!c2 || c2[1] != '/') {
			pr_err("%s: cannot parse '%s'", path, s);
			lines_free(l, n);
			return -EINVAL;
		}
		nl = xrealloc_array(l, n + 1, sizeof(*l));
		if (!nl) {
			lines_free(l, n);
			return -ENOMEM;
		}
		l = nl;
		l[n].ctrl = strndup(c1 + 1, c2 - c1 - 1);
		l[n].path = strdup(c2 + 1);
		n++;
		if (!l[n - 1].ctrl || !l[n - 1].path) {
			lines_free(l, n);
			return -ENOMEM;
		}
	}
	*out = l;
	*nr = n;
	return 0;
}

static int read_cg_lines(const char *rel, struct cg_line **out, unsigned *nr)
{
	return read_cg_lines_at(-1, rel, out, nr);
}

static bool has_token(const char *list, const char *tok)
{
	size_t len = strlen(tok);

	for (const char *p = list; p; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (!strncmp(p, tok, len) && (p[len] == ',' || !p[len]))
			return true;
	}
	return false;
}

/* Where lxc-cr sees the hierarchy of these controllers mounted (its root). */
static char *hier_mount(const char *ctrl)
{
	_cleanup_free_ char *buf = read_file_at(AT_FDCWD, "/proc/self/mountinfo", NULL);
	char *s, *save = NULL;

	if (!buf)
		return NULL;
	for (s = strtok_r(buf, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
		char root[256], mnt[512], fstype[32], src[256], opts[512], *dash;
		bool ok = true;

		dash = strstr(s, " - ");
		if (!dash || sscanf(s, "%*u %*u %*s %255s %511s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%31s %255s %511s", fstype, src, opts) != 3 || strcmp(root, "/"))
			continue;
		if (!*ctrl) {
			if (!strcmp(fstype, "cgroup2"))
				return strdup(mnt);
			continue;
		}
		if (strcmp(fstype, "cgroup"))
			continue;
		{
			_cleanup_free_ char *c = strdup(ctrl);
			char *t, *sv = NULL;

			if (!c)
				return NULL;
			for (t = strtok_r(c, ",", &sv); t; t = strtok_r(NULL, ",", &sv))
				ok = ok && has_token(opts, t);
		}
		if (ok)
			return strdup(mnt);
	}
	return NULL;
}

/* path is at or below root (both from the hierarchy's root). */
static const char *below(const char *path, const char *root)
{
	size_t len = strlen(root);

	if (!strcmp(root, "/"))
		return strcmp(path, "/") ? path : "";
	if (strncmp(path, root, len) || (path[len] && path[len] != '/'))
		return NULL;
	return path + len;
}

static char *trim(char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '\n')
		s[--n] = '\0';
	return s;
}

/* ---------------------------------------------------------------- dump */

/* Every process in dir and below belongs to the tree. */
static int only_tree(struct dump_ctx *ctx, const char *dir)
{
	char path[PATH_MAX];
	_cleanup_free_ char *buf = NULL;
	DIR *d;
	struct dirent *de;
	int ret = 1;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	buf = read_file_at(AT_FDCWD, path, NULL);
	if (!buf) {
		pr_perror("cannot read %s", path);
		return -errno;
	}
	for (char *p = buf; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (!pstree_find(ctx->items, ctx->nr_items, pid))
			return 0;
		p = end;
		while (*p == '\n')
			p++;
	}
	d = opendir(dir);
	if (!d) {
		pr_perror("cannot open %s", dir);
		return -errno;
	}
	while (ret > 0 && (de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ret = only_tree(ctx, path);
	}
	closedir(d);
	return ret;
}

static int add_prop(CgroupDir *cd, const char *name, char *value)
{
	CgroupProp *p = xzalloc(sizeof(*p));
	void *n = xrealloc_array(cd->props, cd->n_props + 1, sizeof(*cd->props));

	if (!p || !n) {
		free(p);
		free(value);
		return -ENOMEM;
	}
	cd->props = n;
	cgroup_prop__init(p);
	p->name = strdup(name);
	p->value = value;
	cd->props[cd->n_props++] = p;
	return p->name ? 0 : -ENOMEM;
}

/* Record mnt/rel and everything below it, parents first. */
static int save_dirs(CgroupEntry *e, unsigned h, const char *mnt, const char *rel)
{
	char full[PATH_MAX], sub[PATH_MAX + 64];
	CgroupDir *cd = xzalloc(sizeof(*cd));
	void *n = xrealloc_array(e->dirs, e->n_dirs + 1, sizeof(*e->dirs));
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (!cd || !n) {
		free(cd);
		return -ENOMEM;
	}
	e->dirs = n;
	cgroup_dir__init(cd);
	e->dirs[e->n_dirs++] = cd;
	cd->hier = h;
	cd->path = strdup(rel);
	if (!cd->path)
		return -ENOMEM;
	snprintf(full, sizeof(full), "%s%s", mnt, rel);
	for (size_t c = 0; c < sizeof(ctrl_props) / sizeof(ctrl_props[0]); c++) {
		if (!has_token(e->hiers[h]->controllers, ctrl_props[c].ctrl))
			continue;
		for (unsigned f = 0; f < 4 && ctrl_props[c].files[f]; f++) {
			char *v;

			snprintf(sub, sizeof(sub), "%s/%s", full, ctrl_props[c].files[f]);
			v = read_file_at(AT_FDCWD, sub, NULL);
			if (!v)
				continue;	/* not in this kernel */
			if ((ret = add_prop(cd, ctrl_props[c].files[f], trim(v))))
				return ret;
		}
	}
	d = opendir(full);
	if (!d) {
		pr_perror("cannot open %s", full);
		return -errno;
	}
	while (!ret && (de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", strcmp(rel, "/") ? rel : "", de->d_name);
		ret = save_dirs(e, h, mnt, sub);
	}
	closedir(d);
	return ret;
}

/*
 * Hierarchies not mounted where lxc-cr runs (libvirtd's namespace has no
 * cgroup2) in which the root sits at the top: nothing of them to save or to
 * restore, so they are left out of the image. Any task below their top is
 * refused (save_task).
 */
static char **unseen;
static unsigned nr_unseen;

static void unseen_free(void)
{
	for (unsigned i = 0; i < nr_unseen; i++)
		free(unseen[i]);
	free(unseen);
	unseen = NULL;
	nr_unseen = 0;
}

static const char *hier_name(const char *ctrl)
{
	return *ctrl ? ctrl : "cgroup2";
}

static bool is_unseen(const char *ctrl)
{
	for (unsigned i = 0; i < nr_unseen; i++)
		if (!strcmp(unseen[i], ctrl))
			return true;
	return false;
}

static int save_hiers(struct dump_ctx *ctx, CgroupEntry *e)
{
	struct cg_line *l = NULL;
	unsigned n = 0;
	char rel[16];
	int ret;

	snprintf(rel, sizeof(rel), "%d", ctx->items[0]->pid);
	if ((ret = read_cg_lines(rel, &l, &n)))
		return ret;
	e->hiers = xzalloc(sizeof(*e->hiers) * (n + 1));
	if (!e->hiers) {
		lines_free(l, n);
		return -ENOMEM;
	}
	for (unsigned i = 0; !ret && i < n; i++) {
		_cleanup_free_ char *mnt = hier_mount(l[i].ctrl), *dir = NULL;
		CgroupHier *h;

		if (!mnt && !strcmp(l[i].path, "/")) {
			char **u = xrealloc_array(unseen, nr_unseen + 1, sizeof(*u));

			if (!u) {
				ret = -ENOMEM;
				break;
			}
			unseen = u;
			unseen[nr_unseen++] = TAKE_PTR(l[i].ctrl);
			pr_info("cgroup hierarchy '%s' is not mounted where lxc-cr runs and pid %d is at its root: left out",
				hier_name(unseen[nr_unseen - 1]), ctx->items[0]->pid);
			continue;
		}
		h = xzalloc(sizeof(*h));
		if (!h) {
			ret = -ENOMEM;
			break;
		}
		cgroup_hier__init(h);
		e->hiers[e->n_hiers++] = h;
		h->controllers = l[i].ctrl;
		h->root = l[i].path;
		l[i].ctrl = l[i].path = NULL;
		if (!mnt) {
			pr_err("pid %d: is in cgroup %s of hierarchy '%s', which is not mounted where lxc-cr runs; not supported",
			       ctx->items[0]->pid, h->root, hier_name(h->controllers));
			ret = -ENOTSUP;
			break;
		}
		if (!strcmp(h->root, "/"))
			continue;
		dir = xsprintf("%s%s", mnt, h->root);
		if (!dir) {
			ret = -ENOMEM;
			break;
		}
		ret = only_tree(ctx, dir);
		if (ret < 0)
			break;
		h->own = ret;
		ret = h->own ? save_dirs(e, i, mnt, h->root) : 0;
		if (!ret)
			pr_info("cgroup %s:%s: %s", h->controllers, h->root,
				h->own ? "the tree's own" : "shared with other processes");
	}
	lines_free(l, n);
	return ret;
}

static int save_task(struct dump_ctx *ctx, CgroupEntry *e, struct pstree_item *it)
{
	CgroupTask *t = xzalloc(sizeof(*t));
	struct cg_line *l = NULL;
	unsigned n = 0;
	char rel[48];
	int ret;

	if (!t)
		return -ENOMEM;
	cgroup_task__init(t);
	e->tasks[e->n_tasks++] = t;
	t->pid = ns_vpid(it->pid);
	t->paths = xzalloc(sizeof(char *) * (e->n_hiers + 1));
	if (!t->paths)
		return -ENOMEM;
	t->n_paths = e->n_hiers;
	for (unsigned th = 0, seen; th < it->nr_threads; th++) {
		snprintf(rel, sizeof(rel), "%d/task/%d", it->pid, it->threads[th]);
		if ((ret = read_cg_lines(rel, &l, &n)))
			return ret;
		seen = 0;
		ret = 0;
		for (unsigned k = 0; !ret && k < n; k++) {
			unsigned h;

			if (is_unseen(l[k].ctrl)) {
				if (strcmp(l[k].path, "/")) {
					pr_err("pid %d: is in cgroup %s of hierarchy '%s', which is not mounted where lxc-cr runs; not supported",
					       it->pid, l[k].path, hier_name(l[k].ctrl));
					ret = -ENOTSUP;
					break;
				}
				continue;
			}
			if (++seen > e->n_hiers) {
				ret = -ENOTSUP;
				break;
			}
			for (h = 0; h < e->n_hiers; h++)
				if (!strcmp(e->hiers[h]->controllers, l[k].ctrl))
					break;
			if (h == e->n_hiers)
				ret = -ENOTSUP;
			else if (!th)
				t->paths[h] = strdup(l[k].path);
			else if (strcmp(t->paths[h], l[k].path)) {
				pr_err("thread %d of pid %d: is in cgroup %s:%s, its process in %s; not supported",
				       it->threads[th], it->pid, l[k].ctrl, l[k].path, t->paths[h]);
				ret = -ENOTSUP;
				break;
			}
		}
		lines_free(l, n);
		if (!ret && seen != e->n_hiers)
			ret = -ENOTSUP;
		if (ret == -ENOTSUP && th == 0)
			pr_err("pid %d: its cgroup hierarchies are not the root's; not supported", it->pid);
		if (ret)
			return ret;
	}
	for (unsigned h = 0; h < e->n_hiers; h++)
		if (!t->paths[h])
			return -ENOMEM;
	return 0;
}

int cgroup_dump(struct dump_ctx *ctx)
{
	CgroupEntry e = CGROUP_ENTRY__INIT;
	int ret;

	e.tasks = xzalloc(sizeof(*e.tasks) * (ctx->nr_items + 1));
	if (!e.tasks)
		return -ENOMEM;
	ret = save_hiers(ctx, &e);
	for (unsigned i = 0; !ret && i < ctx->nr_items; i++)
		if (ctx->items[i]->state != TASK_ZOMBIE)
			ret = save_task(ctx, &e, ctx->items[i]);
	if (!ret)
		ret = img_write_pb(dump_img(ctx, IMG_CGROUP), &e.base);
	if (!ret && e.n_dirs)
		pr_info("cgroups: %zu of the tree's own saved", e.n_dirs);
	for (size_t i = 0; i < e.n_hiers; i++)
		protobuf_c_message_free_unpacked(&e.hiers[i]->base, NULL);
	for (size_t i = 0; i < e.n_dirs; i++)
		protobuf_c_message_free_unpacked(&e.dirs[i]->base, NULL);
	for (size_t i = 0; i < e.n_tasks; i++)
		protobuf_c_message_free_unpacked(&e.tasks[i]->base, NULL);
	free(e.hiers);
	free(e.dirs);
	free(e.tasks);
	unseen_free();
	return ret;
}

/* ---------------------------------------------------------------- restore */

/* restore: mount points per hierarchy, cgroups created (parents first) */
static struct {
	char **mnt;
	int *mfd;		/* each hierarchy's mount, for tasks in the tree's mounts */
	unsigned nr_mnt;
	char **made;
	unsigned nr_made;
} rcg;

static bool path_ok(const char *p)
{
	return p && p[0] == '/' && strlen(p) < 1024 && !strstr(p, "/../") && !strstr(p, "/./") &&
	       !strstr(p, "\n") && strcmp(p + strlen(p) - (strlen(p) >= 3 ? 3 : 0), "/..") &&
	       strcmp(p + strlen(p) - (strlen(p) >= 2 ? 2 : 0), "/.");
}

static bool prop_ok(const char *ctrl, const char *name)
{
	for (size_t c = 0; c < sizeof(ctrl_props) / sizeof(ctrl_props[0]); c++)
		for (unsigned f = 0; f < 4 && ctrl_props[c].files[f]; f++)
			if (!strcmp(ctrl_props[c].files[f], name))
				return has_token(ctrl, ctrl_props[c].ctrl);
	return false;
}

static int cgroup_check_free(struct rst_ctx *ctx);

int cgroup_read(struct rst_ctx *ctx)
{
	struct cr_img *img = img_open_optional(&ctx->dir, IMG_CGROUP, 0);
	CgroupEntry *e;
	int ret;

	if (!img)
		return errno == ENOENT ? 0 : -EINVAL;
	ret = img_read_one(img, &cgroup_entry__descriptor, (void **)&e);
	img_close(img);
	if (ret)
		return ret;
	ctx->cg = e;
	if (ctx->opts->cgroup_root && (!path_ok(ctx->opts->cgroup_root) ||
				       !strcmp(ctx->opts->cgroup_root, "/"))) {
		pr_err("--cgroup-root '%s': not an absolute path below the hierarchies' roots",
		       ctx->opts->cgroup_root);
		return -EINVAL;
	}
	for (size_t h = 0; h < e->n_hiers; h++)
		if (!path_ok(e->hiers[h]->root) || strchr(e->hiers[h]->controllers, '/') ||
		    strchr(e->hiers[h]->controllers, '\n') || (e->hiers[h]->own && !strcmp(e->hiers[h]->root, "/"))) {
			pr_err("image cgroup.img: hierarchy %zu is invalid", h);
			return -EINVAL;
		}
	for (size_t d = 0; d < e->n_dirs; d++) {
		CgroupDir *cd = e->dirs[d];

		if (cd->hier >= e->n_hiers || !e->hiers[cd->hier]->own || !path_ok(cd->path) ||
		    !below(cd->path, e->hiers[cd->hier]->root)) {
			pr_err("image cgroup.img: cgroup '%s' is invalid", cd->path);
			return -EINVAL;
		}
		for (size_t p = 0; p < cd->n_props; p++)
			if (!prop_ok(e->hiers[cd->hier]->controllers, cd->props[p]->name) ||
			    strlen(cd->props[p]->value) > 65536) {
				pr_err("image cgroup.img: cgroup '%s': '%s' is not restored", cd->path,
				       cd->props[p]->name);
				return -EINVAL;
			}
	}
	for (size_t t = 0; t < e->n_tasks; t++) {
		if (e->tasks[t]->n_paths != e->n_hiers) {
			pr_err("image cgroup.img: pid %u: not one cgroup per hierarchy", e->tasks[t]->pid);
			return -EINVAL;
		}
		for (size_t h = 0; h < e->n_hiers; h++)
			if (!path_ok(e->tasks[t]->paths[h])) {
				pr_err("image cgroup.img: pid %u: cgroup '%s' is invalid", e->tasks[t]->pid,
				       e->tasks[t]->paths[h]);
				return -EINVAL;
			}
	}
	return cgroup_check_free(ctx);
}

/* Where a saved cgroup goes: in a hierarchy where the tree had cgroups of
 * its own, below --cgroup-root instead of the root's; cgroups shared with
 * others stay where they were. */
static const char *moved(struct rst_ctx *ctx, unsigned h, const char *path)
{
	if (!ctx->opts->cgroup_root || !ctx->cg->hiers[h]->own)
		return NULL;
	return below(path, ctx->cg->hiers[h]->root);
}

static char *map_path(struct rst_ctx *ctx, unsigned h, const char *path)
{
	const char *rest = moved(ctx, h, path);

	if (!rest)
		return xsprintf("%s%s", rcg.mnt[h], strcmp(path, "/") ? path : "");
	return xsprintf("%s%s%s", rcg.mnt[h], ctx->opts->cgroup_root, rest);
}

static bool has_procs(const char *dir)
{
	_cleanup_free_ char *p = xsprintf("%s/cgroup.procs", dir);
	_cleanup_free_ char *buf = p ? read_file_at(AT_FDCWD, p, NULL) : NULL;

	return buf && *buf;
}

static int mkdir_p(const char *full, unsigned h)
{
	_cleanup_free_ char *p = strdup(full);
	size_t base = strlen(rcg.mnt[h]);

	if (!p)
		return -ENOMEM;
	for (char *s = p + base + 1;; s++) {
		char c = *s;

		if (c != '/' && c)
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == 0) {
			char **n = xrealloc_array(rcg.made, rcg.nr_made + 1, sizeof(*n));

			if (!n || !(n[rcg.nr_made] = strdup(p))) {
				rmdir(p);
				if (n)
					rcg.made = n;
				return -ENOMEM;
			}
			rcg.made = n;
			rcg.nr_made++;
		} else if (errno != EEXIST) {
			pr_perror("cannot create cgroup %s", p);
			return -errno;
		}
		*s = c;
		if (!c)
			return 0;
	}
}

static int write_str(const char *dir, const char *file, const char *val)
{
	_cleanup_free_ char *p = xsprintf("%s/%s", dir, file);
	_cleanup_close_ int fd = -1;
	size_t len = strlen(val);

	if (!p)
		return -ENOMEM;
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, len ? len : 1) < 0) {
		pr_perror("cannot write '%s' to %s", val, p);
		return -errno;
	}
	return 0;
}

/* Join the cgroup full of hierarchy h, through the hierarchy's descriptor. */
static int write_procs(unsigned h, const char *full)
{
	const char *rel = full + strlen(rcg.mnt[h]);
	_cleanup_free_ char *p = xsprintf("%s%scgroup.procs", *rel == '/' ? rel + 1 : rel,
					  *rel ? "/" : "");
	_cleanup_close_ int fd = -1;

	if (!p)
		return -ENOMEM;
	fd = openat(rcg.mfd[h], p, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) < 0) {
		pr_perror("cannot join cgroup %s", full);
		return -errno;
	}
	return 0;
}

static int write_devices(const char *dir, char *list)
{
	char *s, *save = NULL;
	int ret;

	if (!strcmp(list, "a *:* rwm"))
		return write_str(dir, "devices.allow", "a");
	if ((ret = write_str(dir, "devices.deny", "a")))
		return ret;
	for (s = strtok_r(list, "\n", &save); s; s = strtok_r(NULL, "\n", &save))
		if ((ret = write_str(dir, "devices.allow", s)))
			return ret;
	return 0;
}

/* A throttle file lists "MAJ:MIN VALUE" a device; it takes one line a write. */
static int write_lines(const char *dir, const char *name, char *list)
{
	char *s, *save = NULL;
	int ret;

	for (s = strtok_r(list, "\n", &save); s; s = strtok_r(NULL, "\n", &save))
		if ((ret = write_str(dir, name, s)))
			return ret;
	return 0;
}

static int write_props(const char *dir, CgroupDir *cd)
{
	for (size_t i = 0; i < cd->n_props; i++) {
		CgroupProp *p = cd->props[i];
		_cleanup_free_ char *f = xsprintf("%s/%s", dir, p->name);
		_cleanup_free_ char *cur = f ? read_file_at(AT_FDCWD, f, NULL) : NULL;
		_cleanup_free_ char *v = strdup(p->value);
		int ret;

		if (!v)
			return -ENOMEM;
		if (cur && !strcmp(trim(cur), p->value))
			continue;
		if (!strcmp(p->name, "devices.list"))
			ret = write_devices(dir, v);
		else if (!strncmp(p->name, "blkio.throttle.", 15))
			ret = write_lines(dir, p->name, v);
		else
			ret = write_str(dir, p->name, p->value);
		if (ret)
			return ret;
	}
	return 0;
}

/* READ: every hierarchy is mounted here and no own cgroup is taken by
 * processes, before anything is created. */
static int cgroup_check_free(struct rst_ctx *ctx)
{
	CgroupEntry *e = ctx->cg;

	rcg.mnt = xzalloc(sizeof(char *) * (e->n_hiers + 1));
	if (!rcg.mnt)
		return -ENOMEM;
	rcg.mfd = xzalloc(sizeof(int) * (e->n_hiers + 1));
	if (!rcg.mfd)
		return -ENOMEM;
	rcg.nr_mnt = e->n_hiers;
	for (size_t h = 0; h < e->n_hiers; h++)
		rcg.mfd[h] = -1;
	for (size_t h = 0; h < e->n_hiers; h++) {
		if (!(rcg.mnt[h] = hier_mount(e->hiers[h]->controllers))) {
			pr_err("cgroup hierarchy '%s' is not mounted on this host", e->hiers[h]->controllers);
			return -ENOTSUP;
		}
	}
	for (size_t d = 0; d < e->n_dirs; d++) {
		_cleanup_free_ char *full = map_path(ctx, e->dirs[d]->hier, e->dirs[d]->path);

		if (!full)
			return -ENOMEM;
		if (has_procs(full)) {
			pr_err("cgroup %s exists and holds processes; restore it under another name with --cgroup-root",
			       full);
			return -EEXIST;
		}
	}
	return 0;
}

int cgroup_prepare(struct rst_ctx *ctx)
{
	CgroupEntry *e = ctx->cg;
	int ret;

	if (!e)
		return 0;
	/* each hierarchy's mount, kept for the tasks (service fds exist from OPEN on) */
	for (size_t h = 0; h < e->n_hiers; h++) {
		rcg.mfd[h] = rst_svc_fd(ctx, open(rcg.mnt[h], O_PATH | O_DIRECTORY | O_CLOEXEC));
		if (rcg.mfd[h] < 0) {
			pr_perror("cannot open the cgroup hierarchy %s", rcg.mnt[h]);
			return -errno;
		}
	}
	for (size_t d = 0; d < e->n_dirs; d++) {
		_cleanup_free_ char *full = map_path(ctx, e->dirs[d]->hier, e->dirs[d]->path);

		if (!full)
			return -ENOMEM;
		if ((ret = mkdir_p(full, e->dirs[d]->hier)) || (ret = write_props(full, e->dirs[d])))
			return ret;
	}
	/* the others must exist, but where --cgroup-root moved them */
	for (size_t t = 0; t < e->n_tasks; t++)
		for (size_t h = 0; h < e->n_hiers; h++) {
			_cleanup_free_ char *full = map_path(ctx, h, e->tasks[t]->paths[h]);
			struct stat st;

			if (!full)
				return -ENOMEM;
			if (moved(ctx, h, e->tasks[t]->paths[h])) {
				if ((ret = mkdir_p(full, h)))
					return ret;
			} else if (stat(full, &st) < 0) {
				pr_perror("pid %u: its cgroup %s", e->tasks[t]->pid, full);
				return -ENOENT;
			}
		}
	if (e->n_dirs)
		pr_info("cgroups: %zu of the tree's own in place (%u created)", e->n_dirs, rcg.nr_made);
	return fault_inject("after-cgroup");
}

int cgroup_enter(struct rst_ctx *ctx, struct pstree_item *item)
{
	CgroupEntry *e = ctx->cg;
	CgroupTask *t = NULL;
	struct cg_line *l = NULL;
	unsigned n = 0;
	int ret = 0;

	if (!e)
		return 0;
	for (size_t i = 0; i < e->n_tasks && !t; i++)
		if (e->tasks[i]->pid == (uint32_t)item->pid)
			t = e->tasks[i];
	if (!t) {
		pr_err("pid %d: has no cgroups in cgroup.img", item->pid);
		return -EINVAL;
	}
	/* the task may be in the tree's mounts already: host paths through descriptors */
	if ((ret = read_cg_lines_at(ctx->host_proc, "self", &l, &n)))
		return ret;
	for (size_t h = 0; !ret && h < e->n_hiers; h++) {
		_cleanup_free_ char *full = map_path(ctx, h, t->paths[h]);
		_cleanup_free_ char *cur = NULL;

		if (!full) {
			ret = -ENOMEM;
			break;
		}
		for (unsigned k = 0; k < n && !cur; k++)
			if (!strcmp(l[k].ctrl, e->hiers[h]->controllers))
				cur = xsprintf("%s%s", rcg.mnt[h], strcmp(l[k].path, "/") ? l[k].path : "");
		if (cur && !strcmp(cur, full))
			continue;
		ret = write_procs(h, full);
	}
	lines_free(l, n);
	return ret;
}

void cgroup_fini(struct rst_ctx *ctx, bool failed)
{
	(void)ctx;
	for (unsigned i = rcg.nr_made; i-- > 0;) {
		/* the tasks just killed may still be leaving it */
		for (int w = 0; failed && w < 100 && rmdir(rcg.made[i]) < 0 && errno == EBUSY; w++)
			usleep(20000);
		if (failed && access(rcg.made[i], F_OK) == 0)
			pr_warn("cannot remove cgroup %s", rcg.made[i]);
		free(rcg.made[i]);
	}
	free(rcg.made);
	for (unsigned h = 0; h < rcg.nr_mnt; h++) {
		free(rcg.mnt[h]);
		if (rcg.mfd && rcg.mfd[h] >= 0)
			close(rcg.mfd[h]);
	}
	free(rcg.mnt);
	free(rcg.mfd);
	memset(&rcg, 0, sizeof(rcg));
}
