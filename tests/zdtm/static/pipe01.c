// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pipes between parent and child with data in flight both ways: parent->child
 * 5000 bytes, child->parent 7000 bytes, each side holding only its own end.
 * After C/R each side reads exactly what was queued, new data flows, and
 * closing the writer gives EOF (no stray copies of the write ends survived).
 */
#include "fdutil.h"

#define P2C 5000
#define C2P 7000

int main(int argc, char **argv)
{
	int down[2], up[2], sync_p[2];
	pid_t pid;
	char c;

	test_init(argc, argv);
	if (pipe(down) || pipe(up) || pipe(sync_p))
		fail("pipe");
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		close(sync_p[0]);
		write_pattern(up[1], C2P, 2, "child write");
		if (write(sync_p[1], "r", 1) != 1)
			fail("child sync");
		close(sync_p[1]);
		test_waitsig();
		read_pattern(down[0], P2C, 1, "child: queued data");
		read_pattern(down[0], 3000, 3, "child: data sent after restore");
		if (read(down[0], &c, 1) != 0)
			fail("child: no EOF");
		if (write(up[1], "done", 4) != 4)
			fail("child: write done");
		exit(0);
	}
	close(down[0]);
	close(up[1]);
	close(sync_p[1]);
	write_pattern(down[1], P2C, 1, "parent write");
	if (read(sync_p[0], &c, 1) != 1)
		fail("child did not get ready");
	close(sync_p[0]);

	test_daemon();
	test_waitsig();

	read_pattern(up[0], C2P, 2, "parent: queued data");
	if (kill(pid, SIGTERM))
		fail("kill child");
	write_pattern(down[1], 3000, 3, "parent write after restore");
	close(down[1]);
	{
		char buf[8];

		if (read_full(up[0], buf, 8) != 4 || memcmp(buf, "done", 4))
			fail("child's final message/EOF");
	}
	wait_child_ok(pid, "child");
	pass();
}
