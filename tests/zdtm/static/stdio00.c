// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Standard descriptors as the test library leaves them: stdin /dev/null,
 * stdout and stderr the output file. After C/R they are the same kinds of
 * files with the same flags and sharing, stdin reads EOF, and lines written
 * to stdout and stderr land at the end of the output file.
 */
#include "fdutil.h"

static const char line1[] = "stdio00: a line through stdout\n";
static const char line2[] = "stdio00: a line through stderr\n";

int main(int argc, char **argv)
{
	struct fd_snap s[3];
	struct stat a, b;
	bool shared;
	char buf[sizeof(line1) + sizeof(line2)];
	off_t before;

	test_init(argc, argv);
	for (int i = 0; i < 3; i++)
		fd_snap(i, &s[i], "stdio");
	if (!S_ISCHR(s[0].st.st_mode))
		skip("stdin is not a device (not started by the harness?)");
	if (!S_ISREG(s[1].st.st_mode) || !S_ISREG(s[2].st.st_mode))
		skip("stdout/stderr are not files (not started by the harness?)");
	shared = kcmp_file(getpid(), 1, getpid(), 2) == 0;

	test_daemon();
	test_waitsig();

	fd_snap_check(0, &s[0], true, "stdin");
	/* stdout/err offsets move with what the library printed: skip pos */
	for (int i = 1; i < 3; i++) {
		struct fd_snap n;

		fd_snap(i, &n, "stdout/err");
		if (n.fl != s[i].fl || n.fdfl != s[i].fdfl || n.st.st_ino != s[i].st.st_ino ||
		    n.st.st_dev != s[i].st.st_dev)
			fail("fd %d: flags %#o/%#x inode %llu, were %#o/%#x %llu", i, n.fl, n.fdfl,
			     (unsigned long long)n.st.st_ino, s[i].fl, s[i].fdfl,
			     (unsigned long long)s[i].st.st_ino);
	}
	if ((kcmp_file(getpid(), 1, getpid(), 2) == 0) != shared)
		fail("stdout and stderr %s one file now", shared ? "are no longer" : "became");
	if (read(0, buf, sizeof(buf)) != 0)
		fail("stdin does not read EOF");
	if (fstat(1, &a))
		fail("fstat");
	before = a.st_size;
	if (write(1, line1, sizeof(line1) - 1) != sizeof(line1) - 1 ||
	    write(2, line2, sizeof(line2) - 1) != sizeof(line2) - 1)
		fail("write to stdout/stderr");
	if (fstat(2, &b))
		fail("fstat");
	if (b.st_size != before + (off_t)(sizeof(line1) + sizeof(line2) - 2))
		fail("output file grew by %lld bytes", (long long)(b.st_size - before));
	{
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", 1);
		fd = open(path, O_RDONLY);
		if (fd < 0 || pread(fd, buf, sizeof(buf) - 2, before) != (ssize_t)(sizeof(buf) - 2))
			fail("read back the output file");
		if (memcmp(buf, line1, sizeof(line1) - 1) ||
		    memcmp(buf + sizeof(line1) - 1, line2, sizeof(line2) - 1))
			fail("lines did not land at the end of the output file");
		close(fd);
	}
	if (s[1].fl & O_APPEND)
		check_pos(2, b.st_size, "stderr (O_APPEND)");
	pass();
}
