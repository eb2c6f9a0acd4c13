/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mount namespace of the tasks above a tree's container (a controller,
 * libvirt_lxc or ct-launch: a copy of its daemon's namespace made with
 * unshare(CLONE_NEWNS), with mounts of its own: NAME.dev, a tmpfs with the
 * container's device nodes, and NAME.devpts, the container's devpts
 * instance). It is saved as a delta against lxc-cr's own namespace: the
 * mounts the controller has and lxc-cr has not (mnt_dump() run on the
 * controller: same rules, tmpfs contents in tmpfs-ID.img), and whether the
 * copy is private or a slave of lxc-cr's mounts (the propagation of its "/").
 *
 * A superblock of the delta that the container also has (its /dev is
 * NAME.dev moved, its /dev/pts is NAME.devpts) must stay one superblock: the
 * container's mount is recorded as a bind of the delta's path
 * (mnt_outer_source()), its contents are saved once, with the delta. At
 * restore a helper unshares a copy of lxc-cr's namespace and mounts the
 * delta (mnt_outer_prepare()); the container's namespace is then built from
 * a copy of that one (mnt_restore_prepare() enters it first), where the
 * bind finds the same superblock, before the pivot drops the rest.
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "ns/ns.h"
#include "restore/restore.h"

/* dump: the superblocks of the delta, by device, and where they are */
static struct outer_sb {
	dev_t dev;
	char *root;		/* the delta mount's root in its filesystem */
	char *path;		/* its mountpoint in the controller's namespace */
} *osb;
static unsigned nr_osb;

/* restore: the namespace built, lxc-cr's own and its cwd while inside */
static struct {
	int ns, own, cwd;
	bool inside;
} rout = { -1, -1, -1, false };

void mnt_outer_dump_fini(void)
{
	for (unsigned i = 0; i < nr_osb; i++) {
		free(osb[i].root);
		free(osb[i].path);
	}
	free(osb);
	osb = NULL;
	nr_osb = 0;
}

/* One mountinfo line: its id, device, root, mountpoint and optional tags. */
static int mi_line(char *l, unsigned *id, dev_t *dev, char **root, char **mnt, char **tags)
{
	unsigned maj, min, parent;
	char *f[6], *save = NULL, *dash;
	int n = 0;

	dash = strstr(l, " - ");
	if (!dash)
		return -EINVAL;
	*dash = '\0';
	for (char *t = strtok_r(l, " ", &save); t; t = n < 6 ? strtok_r(NULL, " ", &save) : NULL)
		f[n++] = t;
	if (n < 6 || sscanf(f[0], "%u", id) != 1 || sscanf(f[1], "%u", &parent) != 1 ||
	    sscanf(f[2], "%u:%u", &maj, &min) != 2)
		return -EINVAL;
	*dev = makedev(maj, min);
	*root = f[3];
	*mnt = f[4];
	*tags = save ? save : "";	/* the optional fields, after the options */
	return 0;
}

/* The controller's "/": 1 private, 2 a slave (of lxc-cr's peer group or of
 * any other: libvirt's controller makes its copy MS_SLAVE), refused shared. */
static int outer_propagation(pid_t pid, uint32_t *prop)
{
	char path[64], line[4096];
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("pid %d: cannot read its mountinfo", pid);
		return -errno;
	}
	*prop = 1;
	while (fgets(line, sizeof(line), f)) {
		char *root, *mnt, *tags;
		unsigned id;
		dev_t dev;

		if (mi_line(line, &id, &dev, &root, &mnt, &tags) || strcmp(mnt, "/"))
			continue;
		if (strstr(tags, "shared:")) {
			pr_err("pid %d: the root of its mount namespace is shared (%s); only a private or slave copy of lxc-cr's is supported",
			       pid, tags);
			return -ENOTSUP;
		}
		if (strstr(tags, "master:"))
			*prop = 2;
	}
	return 0;
}

/* Whether path a is b or below it. */
static bool path_under(const char *a, const char *b)
{
	size_t l = strlen(b);

	if (!strcmp(b, "/"))
		return true;
	return !strncmp(a, b, l) && (!a[l] || a[l] == '/');
}

struct mi_key {
	dev_t dev;
	char *root, *mnt;
};

static int mi_keys(const char *path, struct mi_key **out, unsigned *nr)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[4096];

	*out = NULL;
	*nr = 0;
	if (!f) {
		pr_perror("cannot read %s", path);
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *root, *mnt, *tags;
		struct mi_key *n;
		unsigned id;
		dev_t dev;

		if (mi_line(line, &id, &dev, &root, &mnt, &tags))
			continue;
		n = xrealloc_array(*out, *nr + 1, sizeof(**out));
		if (!n)
			return -ENOMEM;
		*out = n;
		n[*nr].dev = dev;
		n[*nr].root = xstrdup(root);
		n[*nr].mnt = xstrdup(mnt);
		(*nr)++;
		if (!n[*nr - 1].root || !n[*nr - 1].mnt)
			return -ENOMEM;
	}
	return 0;
}

static void mi_keys_free(struct mi_key *k, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++) {
		free(k[i].root);
		free(k[i].mnt);
	}
	free(k);
}

/*
 * The restore starts from a copy of lxc-cr's namespace: a mount lxc-cr has
 * and the controller lacks (made on the host after the controller's copy,
 * or unmounted in it) is there again. Where it is at, above or below one of
 * the controller's own mounts it would change what the controller sees
 * there: refused by name; elsewhere said in the log.
 */
static int outer_missing(pid_t pid, const NsEntry *e)
{
	struct mi_key *self = NULL, *ctl = NULL;
	unsigned nr_self = 0, nr_ctl = 0;
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	if ((ret = mi_keys("/proc/self/mountinfo", &self, &nr_self)) || (ret = mi_keys(path, &ctl, &nr_ctl)))
		goto out;
	for (unsigned i = 0; i < nr_self && !ret; i++) {
		bool there = false;

		for (unsigned k = 0; k < nr_ctl && !there; k++)
			there = ctl[k].dev == self[i].dev && !strcmp(ctl[k].mnt, self[i].mnt) &&
				!strcmp(ctl[k].root, self[i].root);
		if (there)
			continue;
		for (size_t k = 0; k < e->n_outer_mnts; k++) {
			const char *own = e->outer_mnts[k]->mountpoint;

			if (strcmp(self[i].mnt, "/") && (path_under(self[i].mnt, own) || path_under(own, self[i].mnt))) {
				pr_err("pid %d: lxc-cr's mount %s (%u:%u) is not in its mount namespace and would %s its own %s at restore; not supported",
				       pid, self[i].mnt, major(self[i].dev), minor(self[i].dev),
				       path_under(own, self[i].mnt) ? "cover" : "lie on", own);
				ret = -ENOTSUP;
				break;
			}
		}
		if (!ret)
			pr_warn("pid %d: lxc-cr's mount %s is not in its mount namespace; the restored one has it",
				pid, self[i].mnt);
	}
out:
	mi_keys_free(self, nr_self);
	mi_keys_free(ctl, nr_ctl);
	return ret;
}

int mnt_outer_dump(struct dump_ctx *ctx, pid_t pid, NsEntry *e)
{
	NsEntry tmp = NS_ENTRY__INIT;
	char path[64], line[4096];
	_cleanup_fclose_ FILE *f = NULL;
	int ret;

	mnt_outer_dump_fini();
	if ((ret = outer_propagation(pid, &e->outer_mnt)))
		return ret;
	e->has_outer_mnt = true;
	ret = mnt_dump(ctx, pid, &tmp);
	e->outer_mnts = tmp.mnts;
	e->n_outer_mnts = tmp.n_mnts;
	if (ret)
		return ret;
	for (size_t i = 0; i < tmp.n_mnts; i++) {
		const MntEntry *m = tmp.mnts[i];

		if (m->is_root || m->src_in_tree || !strcmp(m->fstype, "proc") ||
		    !strcmp(m->fstype, "sysfs") || !strcmp(m->fstype, "overlay")) {
			pr_err("pid %d: mount %s (%s) of its own mount namespace, above its container's; not supported",
			       pid, m->mountpoint, m->fstype);
			return -ENOTSUP;
		}
	}
	if ((ret = outer_missing(pid, e)))
		return ret;
	/* where each superblock of the delta is, for the container's mounts */
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("pid %d: cannot read its mountinfo", pid);
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *root, *mnt, *tags;
		struct outer_sb *n;
		unsigned id;
		dev_t dev;
		size_t i;

		if (mi_line(line, &id, &dev, &root, &mnt, &tags))
			continue;
		for (i = 0; i < tmp.n_mnts; i++)
			if (tmp.mnts[i]->id == id && strcmp(tmp.mnts[i]->fstype, "bind"))
				break;
		if (i == tmp.n_mnts)
			continue;
		n = xrealloc_array(osb, nr_osb + 1, sizeof(*osb));
		if (!n)
			return -ENOMEM;
		osb = n;
		osb[nr_osb].dev = dev;
		osb[nr_osb].root = xstrdup(root);
		osb[nr_osb].path = xstrdup(tmp.mnts[i]->mountpoint);
		if (!osb[nr_osb++].path || !osb[nr_osb - 1].root)
			return -ENOMEM;
		pr_info("pid %d: mount %s (%s, %u:%u) of its own, above its container", pid,
			tmp.mnts[i]->mountpoint, tmp.mnts[i]->fstype, major(dev), minor(dev));
	}
	return 0;
}

char *mnt_outer_source(dev_t dev, const char *root)
{
	for (unsigned i = 0; i < nr_osb; i++) {
		size_t l = strlen(osb[i].root);

		if (osb[i].dev != dev)
			continue;
		/* the container's root must be at or below the delta's */
		if (!strcmp(osb[i].root, "/"))
			return xsprintf("%s%s", osb[i].path, strcmp(root, "/") ? root : "");
		if (!strncmp(root, osb[i].root, l) && (!root[l] || root[l] == '/'))
			return xsprintf("%s%s", osb[i].path, root + l);
	}
	return NULL;
}

/* ---------------------------------------------------------------- restore */

int mnt_outer_check(NsEntry *e)
{
	NsEntry tmp = NS_ENTRY__INIT;

	if (!e->n_outer_mnts && !e->has_outer_mnt)
		return 0;
	if (!e->has_ct_pid || e->outer_mnt > 2 || (e->n_outer_mnts && !e->outer_mnt)) {
		pr_err("image ns.img: the mounts above the container without a container, or a propagation %u",
		       e->outer_mnt);
		return -EINVAL;
	}
	tmp.flags = CLONE_NEWNS;
	tmp.mnts = e->outer_mnts;
	tmp.n_mnts = e->n_outer_mnts;
	for (size_t i = 0; i < e->n_outer_mnts; i++)
		if (e->outer_mnts[i]->is_root || e->outer_mnts[i]->src_in_tree ||
		    !strcmp(e->outer_mnts[i]->fstype, "proc") || !strcmp(e->outer_mnts[i]->fstype, "sysfs") ||
		    !strcmp(e->outer_mnts[i]->fstype, "overlay")) {
			pr_err("image ns.img: mount %s above the container is invalid",
			       e->outer_mnts[i]->mountpoint);
			return -EINVAL;
		}
	return mnt_check(&tmp);
}

/* In the helper: a copy of lxc-cr's namespace with the delta mounted. */
static int outer_build(struct rst_ctx *ctx)
{
	NsEntry *e = ctx->ns;
	unsigned long prop = e->outer_mnt == 2 ? MS_SLAVE : MS_PRIVATE;
	int ret;

	if (unshare(CLONE_NEWNS) < 0) {
		pr_perror("cannot create the mount namespace above the container");
		return -errno;
	}
	if (mount(NULL, "/", NULL, MS_REC | prop, NULL) < 0) {
		pr_perror("cannot make the mount namespace above the container %s",
			  prop == MS_SLAVE ? "a slave" : "private");
		return -errno;
	}
	for (size_t i = 0; i < e->n_outer_mnts; i++)
		if ((ret = mnt_mount_outer(ctx, i)))
			return ret;
	return 0;
}

int mnt_outer_prepare(struct rst_ctx *ctx)
{
	NsEntry *e = ctx->ns;
	int sp[2] = { -1, -1 }, go[2] = { -1, -1 }, ret = 0;
	char msg[512], path[64];
	ssize_t n;
	pid_t pid;

	if (!e || !e->has_outer_mnt || !e->outer_mnt)
		return 0;
	rout.own = rst_svc_fd(ctx, open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
	rout.cwd = rst_svc_fd(ctx, open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
	if (rout.own < 0 || rout.cwd < 0) {
		pr_perror("cannot open lxc-cr's own mount namespace");
		return -EIO;
	}
	if (pipe2(sp, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		pr_perror("cannot fork the helper of the mount namespace above the container");
		goto out;
	}
	if (pid == 0) {
		char c;

		close(sp[0]);
		close(go[1]);
		log_set_prefix("mnt-outer: ");
		ret = outer_build(ctx);
		if (ret) {
			snprintf(msg, sizeof(msg), "%s", log_last_error() ? log_last_error() : strerror(-ret));
			_exit(write(sp[1], msg, strlen(msg)) < 0 ? 2 : 1);
		}
		if (write(sp[1], "", 1) != 1)
			_exit(2);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(sp[1]);
	close(go[0]);
	sp[1] = go[0] = -1;
	n = read(sp[0], msg, sizeof(msg) - 1);
	if (n == 1 && !msg[0]) {
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
		rout.ns = rst_svc_fd(ctx, open(path, O_RDONLY | O_CLOEXEC));
		if (rout.ns < 0) {
			ret = rout.ns;
			pr_perror("cannot open the new mount namespace above the container %s", path);
		}
	} else {
		msg[n > 0 ? n : 0] = '\0';
		pr_err("cannot build the mount namespace above the container: %s",
		       n > 0 ? msg : "the helper died");
		ret = -EINVAL;
	}
	close(go[1]);
	go[1] = -1;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (!ret)
		pr_info("the mount namespace above the container is built (%zu mounts besides lxc-cr's, %s)",
			e->n_outer_mnts, e->outer_mnt == 2 ? "slave" : "private");
out:
	for (int i = 0; i < 2; i++) {
		if (sp[i] >= 0)
			close(sp[i]);
		if (go[i] >= 0)
			close(go[i]);
	}
	return ret;
}

int mnt_outer_fd(void)
{
	return rout.ns;
}

int mnt_outer_enter(void)
{
	if (rout.ns < 0)
		return 0;
	if (setns(rout.ns, CLONE_NEWNS) < 0) {
		pr_perror("cannot enter the mount namespace above the container");
		return -errno;
	}
	rout.inside = true;
	return 0;
}

int mnt_outer_leave(void)
{
	if (!rout.inside)
		return 0;
	if (setns(rout.own, CLONE_NEWNS) < 0 || fchdir(rout.cwd) < 0) {
		pr_perror("cannot go back to lxc-cr's mount namespace");
		return -errno;
	}
	rout.inside = false;
	return 0;
}

void mnt_outer_fini(void)
{
	if (mnt_outer_leave() < 0)
		abort();
	if (rout.ns >= 0)
		close(rout.ns);
	if (rout.own >= 0)
		close(rout.own);
	if (rout.cwd >= 0)
		close(rout.cwd);
	rout.ns = rout.own = rout.cwd = -1;
}
