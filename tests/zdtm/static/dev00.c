// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Character devices: /dev/null (rw), /dev/zero (ro), /dev/urandom (ro,
 * nonblock), /dev/full (wo). After C/R the fds are the same devices with the
 * same flags and behave like them.
 */
#include <sys/sysmacros.h>
#include "fdutil.h"

struct dev {
	const char *path;
	int flags;
	unsigned maj, min;
	int fd;
	struct fd_snap s;
};

int main(int argc, char **argv)
{
	struct dev devs[] = {
		{ "/dev/null", O_RDWR, 1, 3 },
		{ "/dev/zero", O_RDONLY, 1, 5 },
		{ "/dev/urandom", O_RDONLY | O_NONBLOCK, 1, 9 },
		{ "/dev/full", O_WRONLY | O_CLOEXEC, 1, 7 },
	};
	int n = sizeof(devs) / sizeof(devs[0]);
	char buf[256];

	test_init(argc, argv);
	for (int i = 0; i < n; i++) {
		devs[i].fd = open(devs[i].path, devs[i].flags);
		if (devs[i].fd < 0)
			skip("cannot open %s", devs[i].path);
		fd_snap(devs[i].fd, &devs[i].s, devs[i].path);
		if (major(devs[i].s.st.st_rdev) != devs[i].maj || minor(devs[i].s.st.st_rdev) != devs[i].min)
			skip("%s is not the usual device", devs[i].path);
	}

	test_daemon();
	test_waitsig();

	for (int i = 0; i < n; i++) {
		fd_snap_check(devs[i].fd, &devs[i].s, false, devs[i].path);
		CHECK(S_ISCHR(devs[i].s.st.st_mode), "%s not a chr dev", devs[i].path);
	}
	if (read(devs[0].fd, buf, sizeof(buf)) != 0)
		fail("/dev/null read not EOF");
	if (write(devs[0].fd, buf, sizeof(buf)) != sizeof(buf))
		fail("/dev/null write");
	memset(buf, 0xa5, sizeof(buf));
	if (read(devs[1].fd, buf, sizeof(buf)) != sizeof(buf))
		fail("/dev/zero read");
	for (size_t i = 0; i < sizeof(buf); i++)
		CHECK(buf[i] == 0, "/dev/zero returned non-zero");
	if (write(devs[1].fd, buf, 1) != -1 || errno != EBADF)
		fail("/dev/zero writable through O_RDONLY fd");
	memset(buf, 0, sizeof(buf));
	if (read(devs[2].fd, buf, 64) != 64)
		fail("/dev/urandom read");
	{
		int nz = 0;

		for (int i = 0; i < 64; i++)
			nz += buf[i] != 0;
		CHECK(nz > 32, "/dev/urandom gave %d non-zero bytes of 64", nz);
	}
	if (write(devs[3].fd, buf, 1) != -1 || errno != ENOSPC)
		fail("/dev/full write did not fail with ENOSPC");
	pass();
}
