// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * memfds mapped MAP_SHARED: a 1 MiB memfd mapped and still open, and a
 * 64 KiB memfd whose fd was closed so only the mapping holds it; a child
 * shares the first mapping. After C/R contents are intact, stores through
 * the mapping are seen by read() on the fd and by the child, and pwrite()
 * on the fd shows up in the mapping.
 */
#include <sys/mman.h>
#include "fdutil.h"

#define SIZE (1 << 20)
#define SIZE2 65536

int main(int argc, char **argv)
{
	int mfd, m2, ctl[2], res[2];
	char *map, *map2, buf[64];
	pid_t pid;

	test_init(argc, argv);
	mfd = memfd_create("zdtm-memfd01", 0);
	m2 = memfd_create("zdtm-memfd01-closed", 0);
	if (mfd < 0 || m2 < 0)
		skip("memfd_create: %s", strerror(errno));
	if (ftruncate(mfd, SIZE) || ftruncate(m2, SIZE2))
		fail("ftruncate");
	map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	map2 = mmap(NULL, SIZE2, PROT_READ | PROT_WRITE, MAP_SHARED, m2, 0);
	if (map == MAP_FAILED || map2 == MAP_FAILED)
		fail("mmap");
	close(m2);
	datagen(map, SIZE, 400);
	datagen(map2, SIZE2, 401);
	if (pipe(ctl) || pipe(res))
		fail("pipe");
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		char c;

		close(ctl[1]);
		close(res[0]);
		if (read_full(ctl[0], &c, 1) != 1)
			exit(1);
		/* the parent wrote "parent" at 4096 after C/R */
		if (memcmp(map + 4096, "parent", 6))
			fail("child does not see the parent's store");
		memcpy(map + 8192, "child", 5);
		if (write(res[1], "k", 1) != 1)
			exit(1);
		exit(0);
	}
	close(ctl[0]);
	close(res[1]);

	test_daemon();
	test_waitsig();

	if (datachk(map, SIZE, 400))
		fail("shared memfd mapping contents");
	if (datachk(map2, SIZE2, 401))
		fail("mapping of the closed memfd: contents");
	if (fcntl(m2, F_GETFD) != -1)
		fail("closed memfd fd %d came back", m2);
	{
		char path[64], link[256];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)map2,
			 (unsigned long)map2 + SIZE2);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			fail("no map_files entry for the closed memfd mapping");
		link[n] = '\0';
		if (strcmp(link, "/memfd:zdtm-memfd01-closed (deleted)"))
			fail("closed memfd mapping is '%s'", link);
	}
	/* mapping and fd are one object */
	memcpy(map + 100, "via-map", 7);
	if (pread(mfd, buf, 7, 100) != 7 || memcmp(buf, "via-map", 7))
		fail("store through the mapping not seen by read()");
	if (pwrite(mfd, "via-fd", 6, 200) != 6 || memcmp(map + 200, "via-fd", 6))
		fail("pwrite() not seen through the mapping");
	/* and the child shares it */
	memcpy(map + 4096, "parent", 6);
	if (write(ctl[1], "g", 1) != 1 || read_full(res[0], buf, 1) != 1)
		fail("child did not answer");
	wait_child_ok(pid, "child");
	if (memcmp(map + 8192, "child", 5))
		fail("child's store not seen by the parent");
	pass();
}
