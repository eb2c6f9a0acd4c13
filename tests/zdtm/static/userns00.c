// SPDX-License-Identifier: LGPL-2.1-or-later
/* userns00: a tree in a user namespace of its own (a child of lxc-cr's)
 * keeps its uid and gid maps and setgroups; its other namespaces are owned
 * by it; a task with ids mapped to other host ids keeps them as it sees them.
 * A SysV message queue and a POSIX message queue owned by such ids keep
 * their owners. The launcher makes the user namespace before the tree is forked; run.sh
 * --ns flavours add the PID (and other) namespaces inside it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <mqueue.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"
#include "nsutil.h"

#ifndef NS_GET_USERNS
#define NS_GET_USERNS 0xb701
#endif

/* inside 0 is the host's 0 (files of the harness stay reachable); 1..65535 are 300001.. */
#define MAP "0 0 1\n1 300001 65535\n"
#define MAP_LINE0 "0 0 1"
#define MAP_LINE1 "1 300001 65535"

static const char *const kinds[] = { "pid", "uts", "ipc", "mnt", "net" };
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))
static ino_t host_ino[NKINDS], host_user;

static ino_t ino_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		fail("stat %s: %s", path, strerror(errno));
	return st.st_ino;
}

static ino_t user_of(const char *path, unsigned long req)
{
	int fd = open(path, O_RDONLY), u;
	struct stat st;

	if (fd < 0 || (u = ioctl(fd, req)) < 0 || fstat(u, &st) < 0)
		fail("%s: cannot find its user namespace: %s", path, strerror(errno));
	close(u);
	close(fd);
	return st.st_ino;
}

static void check_map(const char *name)
{
	char path[64], buf[256], l0[64], l1[64];
	unsigned a, b, c, d, e, f;
	long n;

	snprintf(path, sizeof(path), "/proc/self/%s", name);
	n = test_read_file(path, buf, sizeof(buf));
	if (n <= 0 || sscanf(buf, "%u %u %u %u %u %u", &a, &b, &c, &d, &e, &f) != 6)
		fail("%s: cannot read two lines: '%s'", path, n > 0 ? buf : "");
	snprintf(l0, sizeof(l0), "%u %u %u", a, b, c);
	snprintf(l1, sizeof(l1), "%u %u %u", d, e, f);
	if (strcmp(l0, MAP_LINE0) || strcmp(l1, MAP_LINE1))
		fail("%s is '%s' / '%s', expected '%s' / '%s'", path, l0, l1, MAP_LINE0, MAP_LINE1);
	if (strstr(buf + strlen(buf) - 1, "\n") && strchr(strchr(buf, '\n') + 1, '\n') &&
	    *(strchr(strchr(buf, '\n') + 1, '\n') + 1))
		fail("%s has more than two lines: '%s'", path, buf);
}

/* The child: ids that are other ids on the host. */
static int child_main(int rd)
{
	gid_t want_groups[] = { 1003, 1004 }, groups[8];
	uid_t r, e, s;
	gid_t gr, ge, gs;
	char c;
	int n;

	if (setgroups(2, want_groups) < 0 || setresgid(1000, 1001, 1002) < 0 ||
	    setresuid(2000, 2001, 2002) < 0) {
		test_msg("child: cannot set its ids: %s", strerror(errno));
		return 1;
	}
	if (read(rd, &c, 1) != 1)
		return 2;
	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	n = getgroups(8, groups);
	if (r != 2000 || e != 2001 || s != 2002 || gr != 1000 || ge != 1001 || gs != 1002) {
		test_msg("child: uids %u %u %u gids %u %u %u, expected 2000 2001 2002, 1000 1001 1002", r, e,
			 s, gr, ge, gs);
		return 1;
	}
	if (n != 2 || groups[0] != 1003 || groups[1] != 1004) {
		test_msg("child: %d groups (%u %u), expected 1003 1004", n, n > 0 ? groups[0] : 0,
			 n > 1 ? groups[1] : 0);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char buf[64], path[64];
	int p[2], st;
	ino_t user;
	pid_t c;

	for (unsigned k = 0; k < NKINDS; k++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", kinds[k]);
		host_ino[k] = ino_of(path);
	}
	host_user = ino_of("/proc/self/ns/user");
	enter_userns(MAP);
	test_init(argc, argv);
	if (getpid() != 1)
		skip("needs a PID namespace of its own with its user namespace (run.sh --ns)");
	if (pipe(p) < 0)
		fail("pipe");
	c = fork();
	if (c < 0)
		fail("fork");
	if (c == 0) {
		close(p[1]);
		_exit(child_main(p[0]));
	}
	close(p[0]);
	{
		struct msqid_ds ds;
		struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 8 };
		int id = msgget(0x5e55, IPC_CREAT | IPC_EXCL | 0600);
		mqd_t q = mq_open("/zdtm-userns00", O_RDWR | O_CREAT | O_EXCL, 0600, &a);

		if (id < 0 || msgctl(id, IPC_STAT, &ds) < 0 || q < 0)
			fail("msgget/mq_open: %s", strerror(errno));
		ds.msg_perm.uid = 2000;
		ds.msg_perm.gid = 1000;
		if (msgctl(id, IPC_SET, &ds) < 0 || fchown(q, 2000, 1000) < 0)
			fail("cannot give the queues to 2000:1000: %s", strerror(errno));
		mq_close(q);
	}
	test_daemon();
	test_waitsig();

	check_map("uid_map");
	check_map("gid_map");
	if (test_read_file("/proc/self/setgroups", buf, sizeof(buf)) <= 0 || strncmp(buf, "allow", 5))
		fail("/proc/self/setgroups is '%s', expected allow", buf);
	user = ino_of("/proc/self/ns/user");
	if (user == host_user)
		fail("the tree is in the host's user namespace");
	/* (its parent is outside it: NS_GET_PARENT says EPERM from in here) */
	for (unsigned k = 0; k < NKINDS; k++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", kinds[k]);
		if (ino_of(path) == host_ino[k])
			continue;	/* not one of the tree's own in this flavour */
		if (user_of(path, NS_GET_USERNS) != user)
			fail("its %s namespace is not owned by its user namespace", kinds[k]);
	}
	{
		struct msqid_ds ds;
		struct stat qst;
		int id = msgget(0x5e55, 0);
		mqd_t q = mq_open("/zdtm-userns00", O_RDONLY);

		if (id < 0 || msgctl(id, IPC_STAT, &ds) < 0)
			fail("the SysV message queue is gone: %s", strerror(errno));
		if (ds.msg_perm.uid != 2000 || ds.msg_perm.gid != 1000)
			fail("the SysV message queue is owned by %u:%u, expected 2000:1000", ds.msg_perm.uid,
			     ds.msg_perm.gid);
		if (q < 0 || fstat(q, &qst) < 0)
			fail("the POSIX message queue is gone: %s", strerror(errno));
		if (qst.st_uid != 2000 || qst.st_gid != 1000)
			fail("the POSIX message queue is owned by %u:%u, expected 2000:1000", qst.st_uid,
			     qst.st_gid);
	}
	if (getuid() != 0 || getgid() != 0)
		fail("root: uid %u gid %u, expected 0 0", getuid(), getgid());
	if (write(p[1], "x", 1) != 1)
		fail("cannot wake the child");
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("the child found its ids wrong (status 0x%x)", st);
	pass();
}
