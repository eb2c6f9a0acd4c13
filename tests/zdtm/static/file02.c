// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Descriptors at sparse numbers (3 or the lowest free, 17, 511). After C/R the
 * set of open descriptors is exactly the same and each number still refers
 * to its own file at its own offset.
 */
#include <dirent.h>
#include <sys/resource.h>
#include "fdutil.h"

#define NFD 3

static int fd_list(int *out, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0, self = dirfd(d);

	while ((de = readdir(d))) {
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		if (fd == self)
			continue;
		if (n < max)
			out[n] = fd;
		n++;
	}
	closedir(d);
	/* sort: insertion is enough for a handful */
	for (int i = 1; i < n && i < max; i++)
		for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
			int t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

int main(int argc, char **argv)
{
	int want[NFD] = { 3, 17, 511 };
	int before[64], after[64], nb, na;
	struct rlimit rl;
	char name[32], buf[64];

	test_init(argc, argv);
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur <= 511)
		skip("RLIMIT_NOFILE %llu too low for fd 511", (unsigned long long)rl.rlim_cur);

	for (int i = 0; i < NFD; i++) {
		int fd;

		/* the library may hold fd 3 until test_daemon: take the lowest free then */
		if (i == 0 && fcntl(3, F_GETFD) >= 0)
			want[0] = fcntl(0, F_DUPFD, 3), close(want[0]);
		snprintf(name, sizeof(name), "file02.%d", i);
		fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			fail("open %s", name);
		write_pattern(fd, 1000, 200 + i, name);
		if (fd != want[i]) {
			if (dup2(fd, want[i]) != want[i])
				fail("dup2 to %d", want[i]);
			close(fd);
		}
		lseek(want[i], want[i], SEEK_SET);
	}

	test_daemon();
	nb = fd_list(before, 64);
	test_waitsig();
	na = fd_list(after, 64);

	if (na != nb)
		fail("%d fds open after C/R, %d before", na, nb);
	for (int i = 0; i < na && i < 64; i++)
		if (before[i] != after[i])
			fail("fd set differs: %d became %d", before[i], after[i]);
	for (int i = 0; i < NFD; i++) {
		int fd = want[i];
		char want_buf[64];
		struct stat st, st2;

		snprintf(name, sizeof(name), "file02.%d", i);
		if (fstat(fd, &st) || stat(name, &st2) || st.st_ino != st2.st_ino)
			fail("fd %d does not refer to %s", fd, name);
		check_pos(fd, fd, name);
		datagen(want_buf, 64, 200 + i);
		if (pread(fd, buf, 64, 0) != 64 || memcmp(buf, want_buf, 64))
			fail("fd %d contents", fd);
	}
	pass();
}
