// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Descriptors shared by fork: parent and child hold the same open file
 * (shared offset and status flags) and the same pipe; each also has a file
 * it opened on its own after the fork. After C/R kcmp says the inherited
 * fds are one file across both processes and the private ones are not;
 * moving the offset or flags in one process shows in the other.
 */
#include "fdutil.h"

#define FNAME "fdshare00.data"

int main(int argc, char **argv)
{
	int f, own, ctl[2], res[2];
	pid_t pid;
	char c;

	test_init(argc, argv);
	f = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (f < 0 || pipe(ctl) || pipe(res))
		fail("setup");
	write_pattern(f, 8192, 600, "fill");
	lseek(f, 1000, SEEK_SET);
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		own = open(FNAME, O_RDONLY);	/* the child's own description */
		if (own < 0)
			fail("child open");
		lseek(own, 3, SEEK_SET);
		close(ctl[1]);
		close(res[0]);
		if (write(res[1], &own, sizeof(own)) != sizeof(own))
			fail("child report");
		/* blocked here across C/R */
		if (read_full(ctl[0], &c, 1) != 1)
			fail("child: control pipe closed");
		check_pos(f, 2000, "child: shared file after parent's lseek");
		check_pos(own, 3, "child: own file");
		if (!(fcntl(f, F_GETFL) & O_APPEND))
			fail("child: parent's F_SETFL not shared");
		lseek(f, 3000, SEEK_SET);
		if (fcntl(f, F_SETFL, O_NONBLOCK))
			fail("child F_SETFL");
		if (write(res[1], "d", 1) != 1)
			fail("child done");
		exit(0);
	}
	close(ctl[0]);
	close(res[1]);
	if (read_full(res[0], &own, sizeof(own)) != sizeof(own))
		fail("child did not start");
	{
		/* the parent's own, opened after fork, at the same number it may have */
		int p_own = open(FNAME, O_RDONLY);

		if (p_own < 0)
			fail("parent open");
		if (p_own != own && dup2(p_own, own) != own)
			fail("dup2");
		if (p_own != own)
			close(p_own);
	}
	lseek(own, 5, SEEK_SET);

	test_daemon();
	test_waitsig();

	if (kcmp_file(getpid(), f, pid, f) != 0)
		fail("inherited file is no longer shared with the child");
	if (kcmp_file(getpid(), res[0], pid, res[1]) == 0 || kcmp_file(getpid(), ctl[1], pid, ctl[0]) == 0)
		fail("pipe ends compare equal");
	if (kcmp_file(getpid(), own, pid, own) == 0)
		fail("separately opened files became one");
	check_pos(f, 1000, "shared file");
	check_pos(own, 5, "parent's own file");
	lseek(f, 2000, SEEK_SET);
	if (fcntl(f, F_SETFL, O_APPEND))
		fail("F_SETFL");
	if (write(ctl[1], "g", 1) != 1)
		fail("wake child");
	if (read_full(res[0], &c, 1) != 1)
		fail("child did not finish");
	wait_child_ok(pid, "child");
	check_pos(f, 3000, "shared file after child's lseek");
	if ((fcntl(f, F_GETFL) & (O_NONBLOCK | O_APPEND)) != O_NONBLOCK)
		fail("child's F_SETFL not shared (%#o)", fcntl(f, F_GETFL));
	pass();
}
