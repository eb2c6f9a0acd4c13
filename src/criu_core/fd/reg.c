/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Regular files, directories and device nodes: opened again by path, at the
 * same offset with the same flags. A deleted file that is still open (a
 * ghost) has its contents saved in ghost-ID.img up to the ghost limit and is
 * re-created next to where it was, opened, and unlinked again.
 */
#include <fcntl.h>
#include <libgen.h>
#include <sys/sendfile.h>
#include <sys/sysmacros.h>

#include "ns/ns.h"
#include "fd/files.h"
#include "restore/restore.h"

#define DEFAULT_GHOST_LIMIT (1ULL << 20)

/* Deleted files saved so far, by inode: several opens share one ghost image. */
struct ghost_seen {
	dev_t dev;
	ino_t ino;
	uint32_t id;
};
static struct ghost_seen *ghosts;
static unsigned nr_ghosts;
#define DELETED_SUFFIX " (deleted)"

static bool reg_match(const struct fd_parms *p)
{
	mode_t m = p->st.st_mode;

	if (S_ISREG(m) || S_ISDIR(m) || S_ISLNK(m))
		return p->link[0] == '/';
	if (S_ISCHR(m) || S_ISBLK(m)) {
		/* terminals have their own kind */
		unsigned maj = major(p->st.st_rdev);

		if ((maj >= 136 && maj <= 143) || maj == 4 || maj == 5)
			return false;
		return p->link[0] == '/';
	}
	return false;
}

static int dump_ghost(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	uint64_t limit = ctx->opts->ghost_limit ? ctx->opts->ghost_limit : DEFAULT_GHOST_LIMIT;
	_cleanup_close_ int fd = -1;
	struct cr_img *img;
	char buf[65536];
	uint64_t left = p->st.st_size;
	off_t off = 0;
	int ret = 0;

	if ((uint64_t)p->st.st_size > limit) {
		pr_err("pid %d fd %d: deleted file %s is %llu bytes, over the ghost limit of %llu (--ghost-limit)",
		       p->pid, p->fd, p->link, (unsigned long long)p->st.st_size,
		       (unsigned long long)limit);
		return -EFBIG;
	}
	fd = open(p->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("pid %d fd %d: cannot open deleted file %s", p->pid, p->fd, p->link);
		return -errno;
	}
	img = img_open(&ctx->dir, IMG_GHOST, id, true);
	if (!img)
		return -EIO;
	while (left) {
		ssize_t n = pread(fd, buf, min_t(uint64_t, left, sizeof(buf)), off);

		if (n <= 0) {
			pr_perror("pid %d fd %d: cannot read deleted file", p->pid, p->fd);
			ret = -EIO;
			break;
		}
		ret = img_write_raw(img, buf, n);
		if (ret)
			break;
		left -= n;
		off += n;
	}
	return img_close(img) ?: ret;
}

/*
 * Whether the path the process sees for its file leads to that file in its
 * own view: looked up from its root (/proc/PID/root), in its mounts, never
 * from lxc-cr's. 0 when it does, -ENOENT when nothing is there, -ESTALE when
 * something else is.
 */
static int reg_in_view(const struct fd_parms *p, const char *path)
{
	char root[64];
	_cleanup_close_ int rfd = -1;
	struct stat st;

	/* a file in flight in a socket queue is held by lxc-cr: look from its receiver */
	snprintf(root, sizeof(root), "/proc/%d/root", p->item ? p->item->pid : p->pid);
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -errno;
	if (fstatat(rfd, path[1] ? path + 1 : "", &st,
		    AT_SYMLINK_NOFOLLOW | (path[1] ? 0 : AT_EMPTY_PATH)) < 0)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
	if (st.st_dev != p->st.st_dev || st.st_ino != p->st.st_ino)
		return -ESTALE;
	return 0;
}

/* mountinfo's octal escapes (\040 for a space), in place. */
static void mi_unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d = (s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0');
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = '\0';
}

/*
 * A file opened before its process's mount namespace diverged from the one
 * it was opened in (the controller's stdin and log, opened by libvirtd before
 * the controller unshared its own; that namespace may be gone since, with a
 * restarted libvirtd): its mount is in no namespace the process sees, so the
 * kernel names it from that mount's root only ("/null"). The same superblock
 * is usually mounted in the process's namespace (a copy of that mount) or in
 * lxc-cr's: try each mount of it there, its mount point in front of the name
 * (with the mount's own root taken off when the name starts with it). A path
 * is taken only when it leads to the same file (dev, ino) from the process's
 * root, where the file is opened again at restore.
 */
static int reg_try_mounts(struct fd_parms *p, const char *mountinfo)
{
	_cleanup_fclose_ FILE *f = fopen(mountinfo, "re");
	char *line = NULL, *cand = NULL;
	size_t len = 0;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (ret == -ENOENT && getline(&line, &len, f) > 0) {
		char root[PATH_MAX], mnt[PATH_MAX];
		unsigned id, maj, mnr;

		if (sscanf(line, "%u %*u %u:%u %4095s %4095s", &id, &maj, &mnr, root, mnt) != 5 ||
		    (makedev(maj, mnr) != p->st.st_dev && id != (unsigned)p->mnt_id))
			continue;
		mi_unescape(root);
		mi_unescape(mnt);
		for (int pass = 0; pass < 2 && ret == -ENOENT; pass++) {
			const char *rel = p->link;
			size_t rl = strlen(root);

			if (pass == 1) {
				if (!strcmp(root, "/") || strncmp(p->link, root, rl) ||
				    (p->link[rl] && p->link[rl] != '/'))
					break;
				rel = p->link + rl;
			}
			free(cand);
			cand = xsprintf("%s%s", strcmp(mnt, "/") ? mnt : "", *rel ? rel : "/");
			if (!cand) {
				ret = -ENOMEM;
				break;
			}
			if (strlen(cand) < sizeof(p->link) && !reg_in_view(p, cand)) {
				pr_info("pid %d fd %d: %s (mount %d, in no namespace of the process) is %s from its root, through mount %u of %s",
					p->pid, p->fd, p->link, p->mnt_id, cand, id, mountinfo);
				strcpy(p->link, cand);
				ret = 0;
			}
		}
	}
	free(line);
	free(cand);
	return ret;
}

static int reg_from_other_mount(struct fd_parms *p)
{
	char mi[64];

	snprintf(mi, sizeof(mi), "/proc/%d/mountinfo", p->pid);
	if (!reg_try_mounts(p, mi))
		return 0;
	return reg_try_mounts(p, "/proc/self/mountinfo");
}

static int reg_dump(struct dump_ctx *ctx, struct fd_parms *p, uint32_t id)
{
	RegFileEntry e = REG_FILE_ENTRY__INIT;
	size_t ll = strlen(p->link), sl = strlen(DELETED_SUFFIX);
	bool deleted = false;
	int ret;

	ret = reg_in_view(p, p->link);
	if (ret && ll > sl && !strcmp(p->link + ll - sl, DELETED_SUFFIX)) {
		p->link[ll - sl] = '\0';
		if (p->st.st_nlink == 0 || reg_in_view(p, p->link)) {
			deleted = true;
			ret = 0;
		} else {
			p->link[ll - sl] = DELETED_SUFFIX[0];
		}
	}
	if (ret && p->fd >= 0 && !reg_from_other_mount(p))
		ret = 0;
	if (ret) {
		if (p->fd >= 0)
			pr_err("pid %d fd %d: %s is not reachable at that path from the process's root "
			       "(opened outside its root filesystem, or covered by a mount since); not supported",
			       p->pid, p->fd, p->link);
		else
			pr_err("pid %d: %s (%s) is not reachable at that path from the process's root "
			       "(outside its root filesystem, or covered by a mount since); not supported",
			       p->pid, p->link, p->path);
		return ret == -ESTALE || ret == -ENOENT ? -ENOTSUP : ret;
	}
	e.id = id;
	e.path = p->link;
	e.flags = p->flags;
	e.pos = p->pos;
	e.has_mode = true;
	e.mode = p->st.st_mode;
	e.has_size = true;
	e.size = p->st.st_size;
	if (S_ISCHR(p->st.st_mode) || S_ISBLK(p->st.st_mode)) {
		e.has_rdev = true;
		e.rdev = p->st.st_rdev;
	}
	if (deleted) {
		if (!S_ISREG(p->st.st_mode)) {
			pr_err("pid %d fd %d: deleted %s is not a regular file", p->pid, p->fd, p->link);
			return -ENOTSUP;
		}
		uint32_t gid = 0;

		for (unsigned i = 0; i < nr_ghosts; i++)
			if (ghosts[i].dev == p->st.st_dev && ghosts[i].ino == p->st.st_ino)
				gid = ghosts[i].id;
		if (!gid) {
			struct ghost_seen *g = xrealloc_array(ghosts, nr_ghosts + 1, sizeof(*g));

			if (!g)
				return -ENOMEM;
			ghosts = g;
			ghosts[nr_ghosts++] = (struct ghost_seen){ p->st.st_dev, p->st.st_ino, id };
			ret = dump_ghost(ctx, p, id);
			if (ret)
				return ret;
			gid = id;
		}
		e.has_ghost = true;
		e.ghost = gid;
		e.has_uid = e.has_gid = true;
		e.uid = p->st.st_uid;
		e.gid = p->st.st_gid;
	}
	return img_write_pb(dump_img(ctx, IMG_REG_FILES), &e.base);
}

static int reg_validate(struct rst_ctx *ctx, struct file_obj *f)
{
	RegFileEntry *e = f->msg;

	if (e->path[0] != '/' || strlen(e->path) >= PATH_MAX) {
		pr_err("reg-files.img: file %u has a bad path", e->id);
		return -EINVAL;
	}
	return 0;
}

/* The deleted file made again, unlinked (as the tree's root: ns_as_root_fd()). */
static int ghost_make(void *arg)
{
	RegFileEntry *e = arg;
	_cleanup_free_ char *dir = xstrdup(e->path), *tmp = NULL;
	int fd;

	if (!dir)
		return -ENOMEM;
	/* At its old name when that is free, so that it looks the same once deleted. */
	fd = open(e->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		unlink(e->path);
		return fd;
	}
	tmp = xsprintf("%s/.lxc-cr-ghost.%u.XXXXXX", dirname(dir), e->id);
	if (!tmp)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(tmp);
	return fd;
}

/* Re-create a deleted file from its ghost image; returns an O_RDWR fd to it, unlinked. */
static int ghost_create(struct rst_ctx *ctx, RegFileEntry *e)
{
	struct cr_img *img;
	int fd, ret;
	off_t off = 0;

	fd = ns_as_root_fd(ghost_make, e);
	if (fd < 0) {
		pr_err("file %s: cannot re-create the deleted file: %s", e->path, strerror(-fd));
		return fd;
	}
	if (e->has_uid && e->has_gid) {
		uint32_t uid = e->uid, gid = e->gid;

		/* a restored task names them as its user namespace does */
		if (ns_in_tree_userns() && (ns_uid_inside(e->uid, &uid) || ns_gid_inside(e->gid, &gid))) {
			close(fd);
			return -ERANGE;
		}
		if (fchown(fd, uid, gid) < 0) {
			pr_perror("file %s: cannot give the re-created deleted file to %u:%u", e->path, e->uid,
				  e->gid);
			close(fd);
			return -errno;
		}
	}
	fchmod(fd, e->mode & 07777);
	img = img_open(&ctx->dir, IMG_GHOST, e->id, false);
	if (!img) {
		close(fd);
		return -EINVAL;
	}
	if (img_raw_size(img) != e->size) {
		pr_err("image %s: holds %llu bytes, the file had %llu", img->name,
		       (unsigned long long)img_raw_size(img), (unsigned long long)e->size);
		img_close(img);
		close(fd);
		return -EINVAL;
	}
	off = IMG_HDR_SIZE;
	ret = 0;
	while ((uint64_t)(off - IMG_HDR_SIZE) < e->size) {
		ssize_t n = sendfile(fd, img_raw_fd(img), &off, e->size - (off - IMG_HDR_SIZE));

		if (n <= 0) {
			pr_perror("file %s: cannot fill the re-created file", e->path);
			ret = -EIO;
			break;
		}
	}
	img_close(img);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static int reg_open(struct rst_ctx *ctx, struct file_obj *f)
{
	RegFileEntry *e = f->msg;
	uint32_t flags = e->flags & ~(O_CREAT | O_TRUNC | O_EXCL | O_NOCTTY);
	int fd;

	if (e->has_ghost && e->ghost) {
		struct file_obj *owner = file_find(ctx, FD_TYPES__REG, e->ghost);
		RegFileEntry *oe;
		int *gfd;

		if (!owner || !(oe = owner->msg)->has_ghost || oe->ghost != owner->id) {
			pr_err("reg-files.img: file %u refers to a missing deleted file %u", e->id, e->ghost);
			return -EINVAL;
		}
		gfd = owner->priv;
		if (!gfd) {
			int g = ghost_create(ctx, oe);

			if (g < 0)
				return g;
			gfd = malloc(sizeof(int));
			if (!gfd) {
				close(g);
				return -ENOMEM;
			}
			*gfd = rst_svc_fd(ctx, g);
			owner->priv = gfd;
			if (*gfd < 0)
				return *gfd;
		}
		fd = reopen_fd(*gfd, flags | O_CLOEXEC);
	} else {
		fd = open(e->path, flags | O_CLOEXEC);
	}
	if (fd < 0) {
		pr_perror("file %s: cannot open", e->path);
		return -errno;
	}
	if (e->has_mode) {
		struct stat st;

		if (fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) != (e->mode & S_IFMT)) {
			pr_err("file %s: is no longer of the same type", e->path);
			close(fd);
			return -EINVAL;
		}
	}
	if (!(flags & O_PATH) && e->pos && lseek(fd, e->pos, SEEK_SET) < 0) {
		pr_perror("file %s: cannot seek to %llu", e->path, (unsigned long long)e->pos);
		close(fd);
		return -errno;
	}
	f->fd = rst_svc_fd(ctx, fd);
	return f->fd < 0 ? f->fd : 0;
}

/* --inherit-fd PATH: the caller's descriptor, shared as it is (offset included). */
static int reg_key(const struct file_obj *f, char *buf, size_t len)
{
	RegFileEntry *e = f->msg;

	return inherit_path_key(e->path, buf, len) ?: 0;
}

const struct fdtype_ops reg_fd_ops = {
	.type = FD_TYPES__REG,
	.name = "regular file",
	.img = IMG_REG_FILES,
	.desc = &reg_file_entry__descriptor,
	.match = reg_match,
	.dump = reg_dump,
	.validate = reg_validate,
	.open = reg_open,
	.key = reg_key,
};
