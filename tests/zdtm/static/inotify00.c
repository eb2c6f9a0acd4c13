// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * inotify watches on a directory (IN_CREATE|IN_DELETE|IN_MOVED_TO) and a
 * file (IN_MODIFY|IN_ATTRIB), with non-consecutive watch descriptors. After
 * C/R the watch list (wd and mask) is the same, restoring made no events,
 * and new changes report the right wd, mask and name.
 */
#include <sys/inotify.h>
#include "fdutil.h"

#define DNAME "inotify00.d"
#define FNAME "inotify00.f"

struct w {
	int wd;
	unsigned mask;
};

static int read_watches(int fd, struct w *w, int max)
{
	char path[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		fail("open %s", path);
	while (fgets(line, sizeof(line), f)) {
		struct w x;
		char *m;

		if (sscanf(line, "inotify wd:%x", &x.wd) != 1)
			continue;
		m = strstr(line, " mask:");
		if (!m || sscanf(m, " mask:%x", &x.mask) != 1)
			fail("bad fdinfo line %s", line);
		if (n < max)
			w[n] = x;
		n++;
	}
	fclose(f);
	return n;
}

/* read one event (non-blocking) and check it */
static void expect(int fd, int wd, uint32_t mask, const char *name)
{
	static char buf[4096] __attribute__((aligned(8)));
	static size_t len, off;
	struct inotify_event *ev;

	if (off >= len) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r <= 0)
			fail("no event (want wd %d mask %#x %s)", wd, mask, name ? name : "");
		len = r;
		off = 0;
	}
	ev = (void *)(buf + off);
	off += sizeof(*ev) + ev->len;
	if (ev->wd != wd || ev->mask != mask)
		fail("event wd %d mask %#x, want wd %d mask %#x", ev->wd, ev->mask, wd, mask);
	if (name && (!ev->len || strcmp(ev->name, name)))
		fail("event name '%s', want '%s'", ev->len ? ev->name : "", name);
	if (!name && ev->len)
		fail("unexpected name '%s'", ev->name);
}

int main(int argc, char **argv)
{
	struct w before[8], after[8];
	int ifd, wd_tmp, wd_dir, wd_file, nb, na, fd;

	test_init(argc, argv);
	if (mkdir(DNAME, 0755) && errno != EEXIST)
		fail("mkdir");
	fd = open(FNAME, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0)
		fail("create");
	close(fd);
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0)
		fail("inotify_init1");
	wd_tmp = inotify_add_watch(ifd, ".", IN_ALL_EVENTS);
	wd_dir = inotify_add_watch(ifd, DNAME, IN_CREATE | IN_DELETE | IN_MOVED_TO);
	if (wd_tmp < 0 || wd_dir < 0 || inotify_rm_watch(ifd, wd_tmp))
		fail("add/rm watch");
	wd_file = inotify_add_watch(ifd, FNAME, IN_MODIFY | IN_ATTRIB);
	if (wd_file < 0)
		fail("add watch");
	/* drop the IN_IGNORED of the removed watch */
	expect(ifd, wd_tmp, IN_IGNORED, NULL);
	check_drained(ifd, "inotify before C/R");
	nb = read_watches(ifd, before, 8);
	if (nb != 2)
		fail("%d watches in fdinfo", nb);

	test_daemon();
	test_waitsig();

	CHECK(fcntl(ifd, F_GETFL) & O_NONBLOCK, "lost O_NONBLOCK");
	CHECK(fcntl(ifd, F_GETFD) == FD_CLOEXEC, "lost FD_CLOEXEC");
	na = read_watches(ifd, after, 8);
	if (na != nb)
		fail("%d watches after C/R, %d before", na, nb);
	for (int i = 0; i < nb; i++) {
		int j;

		for (j = 0; j < na; j++)
			if (after[j].wd == before[i].wd)
				break;
		if (j == na || after[j].mask != before[i].mask)
			fail("watch %d: mask %#x, was %#x", before[i].wd, j == na ? 0 : after[j].mask,
			     before[i].mask);
	}
	check_drained(ifd, "inotify right after C/R");

	fd = open(DNAME "/new", O_CREAT | O_WRONLY, 0600);
	if (fd < 0)
		fail("create in dir");
	close(fd);
	expect(ifd, wd_dir, IN_CREATE, "new");
	if (rename(DNAME "/new", DNAME "/moved"))
		fail("rename");
	expect(ifd, wd_dir, IN_MOVED_TO, "moved");
	if (unlink(DNAME "/moved"))
		fail("unlink");
	expect(ifd, wd_dir, IN_DELETE, "moved");
	fd = open(FNAME, O_WRONLY | O_APPEND);
	if (fd < 0 || write(fd, "x", 1) != 1)
		fail("write file");
	close(fd);
	expect(ifd, wd_file, IN_MODIFY, NULL);
	if (chmod(FNAME, 0600))
		fail("chmod");
	expect(ifd, wd_file, IN_ATTRIB, NULL);
	check_drained(ifd, "inotify at the end");
	/* a new watch does not take an existing wd */
	{
		int w = inotify_add_watch(ifd, ".", IN_CREATE);

		if (w < 0 || w == wd_dir || w == wd_file)
			fail("new watch got wd %d", w);
	}
	pass();
}
