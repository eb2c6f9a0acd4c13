// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * POSIX record locks (F_SETLK): a write lock on [100, 200), a read lock on
 * [300, 400) and a write lock from 1000 to EOF. After C/R (--file-locks) a
 * child's F_GETLK sees each lock with its type, range and the test's pid,
 * conflicting F_SETLK fails, compatible ones succeed.
 */
#include "fdutil.h"

#define FNAME "posixlock00.data"

static int setlk(int fd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, F_SETLK, &fl);
}

/* in the child: F_GETLK for [start, start+len) as type; check the answer */
static void getlk(int fd, short type, off_t start, off_t len, short want_type, off_t want_start,
		  off_t want_len, pid_t want_pid)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	if (fcntl(fd, F_GETLK, &fl))
		fail("F_GETLK");
	if (fl.l_type != want_type)
		fail("F_GETLK %s at %lld: type %d, want %d", type == F_WRLCK ? "W" : "R",
		     (long long)start, fl.l_type, want_type);
	if (want_type == F_UNLCK)
		return;
	if (fl.l_start != want_start || fl.l_len != want_len || fl.l_pid != want_pid)
		fail("F_GETLK at %lld: lock [%lld +%lld] pid %d, want [%lld +%lld] pid %d",
		     (long long)start, (long long)fl.l_start, (long long)fl.l_len, fl.l_pid,
		     (long long)want_start, (long long)want_len, want_pid);
}

static void check_from_child(pid_t owner)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		int fd = open(FNAME, O_RDWR);

		if (fd < 0)
			fail("child open");
		getlk(fd, F_WRLCK, 0, 50, F_UNLCK, 0, 0, 0);
		getlk(fd, F_WRLCK, 0, 150, F_WRLCK, 100, 100, owner);
		getlk(fd, F_RDLCK, 199, 1, F_WRLCK, 100, 100, owner);
		getlk(fd, F_WRLCK, 200, 100, F_UNLCK, 0, 0, 0);
		getlk(fd, F_WRLCK, 350, 1, F_RDLCK, 300, 100, owner);
		getlk(fd, F_RDLCK, 300, 100, F_UNLCK, 0, 0, 0);
		getlk(fd, F_RDLCK, 5000, 1, F_WRLCK, 1000, 0, owner);
		if (setlk(fd, F_WRLCK, 150, 10) != -1 || (errno != EAGAIN && errno != EACCES))
			fail("conflicting write lock granted");
		if (setlk(fd, F_WRLCK, 300, 1) != -1)
			fail("write lock over a read lock granted");
		if (setlk(fd, F_RDLCK, 300, 100))
			fail("shared read lock refused");
		if (setlk(fd, F_WRLCK, 200, 100))
			fail("free range refused");
		exit(0);
	}
	wait_child_ok(pid, "F_GETLK child");
}

int main(int argc, char **argv)
{
	int fd;

	test_init(argc, argv);
	fd = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4096))
		fail("open");
	if (setlk(fd, F_WRLCK, 100, 100) || setlk(fd, F_RDLCK, 300, 100) || setlk(fd, F_WRLCK, 1000, 0))
		fail("F_SETLK");
	check_from_child(getpid());

	test_daemon();
	test_waitsig();

	check_from_child(getpid());
	/* still ours: we can upgrade and release */
	if (setlk(fd, F_WRLCK, 300, 100) || setlk(fd, F_UNLCK, 0, 0))
		fail("lock owner cannot change its locks");
	pass();
}
