/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * External terminals through the library API, as liblxccr calls it (no CLI):
 * a child of this test leads its session on a pty slave whose master the
 * test holds. crc_dump() refuses it undeclared and with a malformed key,
 * takes it with crc_dump_opts.externals; crc_restore() refuses the images
 * without a crc_inherit_fd for the key, with one whose fd is not open or is
 * not a terminal (and creates no process), and restores the child onto a new
 * pty passed in: its fd 0 and controlling terminal are the new slave, its
 * group is the foreground. TAP; needs root.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crcore.h"

static int nr_tests, nr_failed;
static char why[1024];

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	if (why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
}

static void check_why(const char *what)
{
	nr_tests++;
	if (why[0]) {
		printf("not ok %d - %s: %s\n", nr_tests, what, why);
		nr_failed++;
	} else {
		printf("ok %d - %s\n", nr_tests, what);
	}
	fflush(stdout);
	why[0] = '\0';
}

static int open_pair(char *path, size_t len)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, path, len)) {
		printf("Bail out! cannot open a pty pair: %s\n", strerror(errno));
		exit(1);
	}
	return m;
}

/* /proc/PID/stat: tty_nr and tpgid, or -1. */
static int stat_tty(pid_t pid, unsigned *tty_nr, int *tpgid)
{
	char path[64], buf[1024], *p, st;
	int fd, n, a, b, c;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d %d %d %u %d", &st, &a, &b, &c, tty_nr, tpgid) != 6)
		return -1;
	return 0;
}

static bool alive(pid_t pid)
{
	return kill(pid, 0) == 0;
}

int main(void)
{
	char dir[] = "/tmp/test-inherit.XXXXXX", logp[256], slave[64], slave2[64], key[64];
	char link[128], buf[128];
	const char *ext[1];
	struct crc_dump_opts d = { 0 };
	struct crc_restore_opts r = { 0 };
	struct crc_inherit_fd in;
	struct stat st;
	pid_t child, root = 0;
	unsigned nr;
	int m, m2, s2, devnull, ret, pg;

	if (geteuid()) {
		printf("1..0 # SKIP needs root (ptrace, clone3 set_tid)\n");
		return 0;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(logp, sizeof(logp), "%s.log", dir);
	crc_log_init(logp, 4);
	m = open_pair(slave, sizeof(slave));
	if (stat(slave, &st)) {
		printf("Bail out! stat %s: %s\n", slave, strerror(errno));
		return 1;
	}
	snprintf(key, sizeof(key), "tty[%llx:%llx]", (unsigned long long)st.st_rdev,
		 (unsigned long long)st.st_dev);
	child = fork();
	if (child == 0) {
		int fd;

		setsid();
		fd = open(slave, O_RDWR);	/* our controlling terminal */
		if (fd < 0)
			_exit(1);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		syscall(SYS_close_range, 3, ~0U, 0);
		/* another binary than ours: the kernel refuses to change a process's
		 * exe file while the old one is still mapped (PR_SET_MM_MAP EBUSY) */
		execl("/bin/sleep", "sleep", "1000", (char *)NULL);
		_exit(1);
	}
	for (int i = 0; i < 200; i++) {
		char exe[64] = "";

		snprintf(buf, sizeof(buf), "/proc/%d/exe", child);
		if (readlink(buf, exe, sizeof(exe) - 1) > 0 && strstr(exe, "sleep") &&
		    !stat_tty(child, &nr, &pg) && nr)
			break;
		usleep(10000);
	}
	printf("# child %d on %s (%s)\n", child, slave, key);

	d.pid = child;
	d.images_dir = dir;
	ext[0] = "tty[zz:1]";
	d.externals = ext;
	d.nr_externals = 1;
	ret = crc_dump(&d, NULL);
	if (ret != -EINVAL)
		fail("crc_dump returned %d, want -EINVAL", ret);
	if (!strstr(crc_last_error(), "tty[zz:1]") || !strstr(crc_last_error(), "tty[RDEV:DEV]"))
		fail("error '%s' does not name the key and the spelling", crc_last_error());
	if (!alive(child))
		fail("the child is gone");
	check_why("crc_dump with a malformed external key fails with -EINVAL naming it");

	d.nr_externals = 0;
	ret = crc_dump(&d, NULL);
	if (ret != -ENOTSUP)
		fail("crc_dump returned %d, want -ENOTSUP", ret);
	snprintf(buf, sizeof(buf), "--external %s", key);
	if (!strstr(crc_last_error(), buf) || !strstr(crc_last_error(), slave))
		fail("error '%s' does not name %s and '%s'", crc_last_error(), slave, buf);
	if (!alive(child))
		fail("the child is gone");
	check_why("crc_dump of the undeclared terminal is refused naming it and the key to declare");

	ext[0] = key;
	d.nr_externals = 1;
	ret = crc_dump(&d, NULL);
	if (ret)
		fail("crc_dump returned %d: %s", ret, crc_last_error());
	else if (waitpid(child, NULL, 0) != child)
		fail("the dumped child was not reaped: %s", strerror(errno));
	check_why("crc_dump with externals = { key } writes the images");
	if (ret) {
		kill(child, SIGKILL);
		printf("1..%d\n", nr_tests);
		return 1;
	}

	r.images_dir = dir;
	r.detach = true;
	ret = crc_restore(&r, &root, NULL);
	if (ret != -ENOENT)
		fail("crc_restore returned %d, want -ENOENT", ret);
	if (!strstr(crc_last_error(), key))
		fail("error '%s' does not name %s", crc_last_error(), key);
	if (alive(child))
		fail("a process %d exists", child);
	check_why("crc_restore without an inherited fd for the key fails naming it; no process");

	in.fd = 999;
	in.key = key;
	r.inherit_fds = &in;
	r.nr_inherit_fds = 1;
	ret = crc_restore(&r, &root, NULL);
	if (ret != -EBADF || !strstr(crc_last_error(), "999 is not open"))
		fail("crc_restore returned %d: '%s'", ret, crc_last_error());
	if (alive(child))
		fail("a process %d exists", child);
	check_why("crc_restore with inherited fd 999, not open, fails naming it; no process");

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	in.fd = devnull;
	ret = crc_restore(&r, &root, NULL);
	if (ret != -ENOTTY || !strstr(crc_last_error(), "not a terminal"))
		fail("crc_restore returned %d: '%s'", ret, crc_last_error());
	if (alive(child))
		fail("a process %d exists", child);
	check_why("crc_restore with /dev/null for a terminal key fails: not a terminal; no process");

	m2 = open_pair(slave2, sizeof(slave2));
	s2 = open(slave2, O_RDWR | O_NOCTTY | O_CLOEXEC);
	in.fd = s2;
	ret = crc_restore(&r, &root, NULL);
	if (ret)
		fail("crc_restore returned %d: %s", ret, crc_last_error());
	else if (root != child)
		fail("root pid %d, want %d", root, child);
	close(s2);
	if (!ret) {
		ssize_t n;

		snprintf(buf, sizeof(buf), "/proc/%d/fd/0", child);
		n = readlink(buf, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		if (strcmp(link, slave2))
			fail("its fd 0 is '%s', want %s", link, slave2);
		if (stat(slave2, &st) || stat_tty(child, &nr, &pg))
			fail("stat: %s", strerror(errno));
		else if (((nr >> 8) & 0xfff) != major(st.st_rdev) ||
			 ((nr & 0xff) | ((nr >> 12) & 0xfff00)) != minor(st.st_rdev))
			fail("its controlling terminal is %u:%u, not %s", (nr >> 8) & 0xfff,
			     (nr & 0xff) | ((nr >> 12) & 0xfff00), slave2);
		else if (pg != child)
			fail("foreground group %d, want %d", pg, child);
	}
	check_why("crc_restore with a new pty: fd 0, controlling terminal and foreground are the new slave's");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(m);
	close(m2);
	close(devnull);
	crc_log_fini();
	if (!nr_failed) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, logp);
		if (system(cmd))
			printf("# cannot remove %s\n", dir);
	} else {
		printf("# images in %s, log %s\n", dir, logp);
	}
	printf("1..%d\n", nr_tests);
	return nr_failed ? 1 : 0;
}
