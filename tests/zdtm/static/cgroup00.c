// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cgroup00: the test puts itself into new v1 cgroups of its own
 * (/sys/fs/cgroup/{memory,cpu,pids,freezer}/zdtm-cg-PID) with limits, and
 * after the restore is in cgroups of the same names with the same limits.
 * It removes them before it exits.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define CG "/sys/fs/cgroup"

static const char *ctrls[] = { "memory", "cpu", "pids", "freezer", "blkio" };
#define NR_CTRLS (sizeof(ctrls) / sizeof(ctrls[0]))

static char blk_rbps[64], blk_wiops[64];	/* "MAJ:MIN VALUE" of a disk here */

static struct {
	const char *ctrl, *file, *value;
} limits[] = {
	{ "memory", "memory.limit_in_bytes", "268435456" },
	{ "memory", "memory.soft_limit_in_bytes", "134217728" },
	{ "cpu", "cpu.shares", "512" },
	{ "cpu", "cpu.cfs_period_us", "50000" },
	{ "cpu", "cpu.cfs_quota_us", "40000" },
	{ "pids", "pids.max", "64" },
	{ "blkio", "blkio.throttle.read_bps_device", blk_rbps },
	{ "blkio", "blkio.throttle.write_iops_device", blk_wiops },
};
#define NR_LIMITS (sizeof(limits) / sizeof(limits[0]))

static char name[64];

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/* The path of this process in the hierarchy of ctrl, from /proc/self/cgroup. */
static int self_cgroup(const char *ctrl, char *out, size_t size)
{
	char buf[4096], *s, *save = NULL;

	if (test_read_file("/proc/self/cgroup", buf, sizeof(buf)) <= 0)
		return -1;
	for (s = strtok_r(buf, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c2 = '\0';
		if (!strcmp(c1 + 1, ctrl)) {
			snprintf(out, size, "%s", c2 + 1);
			return 0;
		}
	}
	return -1;
}

static void cleanup(void)
{
	char path[256];

	for (size_t i = 0; i < NR_CTRLS; i++) {
		snprintf(path, sizeof(path), CG "/%s/cgroup.procs", ctrls[i]);
		write_file(path, "0");
		snprintf(path, sizeof(path), CG "/%s/%s", ctrls[i], name);
		rmdir(path);
	}
}

int main(int argc, char **argv)
{
	char path[256], buf[256], self[32];
	ssize_t n;

	test_init(argc, argv);
	/* a throttle needs a whole disk: the first one in /sys/block */
	{
		DIR *d = opendir("/sys/block");
		struct dirent *de;

		while (d && (de = readdir(d)) && !blk_rbps[0]) {
			char dev[32];

			if (de->d_name[0] == '.' || !strncmp(de->d_name, "loop", 4))
				continue;
			snprintf(path, sizeof(path), "/sys/block/%.200s/dev", de->d_name);
			if (test_read_file(path, dev, sizeof(dev)) <= 0)
				continue;
			dev[strcspn(dev, "\n")] = '\0';
			snprintf(blk_rbps, sizeof(blk_rbps), "%s 1048576", dev);
			snprintf(blk_wiops, sizeof(blk_wiops), "%s 500", dev);
		}
		if (d)
			closedir(d);
		if (!blk_rbps[0])
			skip("no block device in /sys/block for a blkio throttle");
	}
	/* the host's PID: the same name in a PID namespace of its own */
	n = readlink("/proc/self", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	snprintf(name, sizeof(name), "zdtm-cg-%s", self);
	for (size_t i = 0; i < NR_CTRLS; i++) {
		snprintf(path, sizeof(path), CG "/%s/tasks", ctrls[i]);
		if (access(path, F_OK))
			skip("no v1 cgroup hierarchy %s at " CG "/%s", ctrls[i], ctrls[i]);
	}
	for (size_t i = 0; i < NR_CTRLS; i++) {
		snprintf(path, sizeof(path), CG "/%s/%s", ctrls[i], name);
		if (mkdir(path, 0755) && errno != EEXIST) {
			cleanup();
			fail("cannot create %s: %m", path);
		}
	}
	for (size_t i = 0; i < NR_LIMITS; i++) {
		snprintf(path, sizeof(path), CG "/%s/%s/%s", limits[i].ctrl, name, limits[i].file);
		if (write_file(path, limits[i].value)) {
			cleanup();
			fail("cannot write %s to %s: %m", limits[i].value, path);
		}
	}
	for (size_t i = 0; i < NR_CTRLS; i++) {
		snprintf(path, sizeof(path), CG "/%s/%s/cgroup.procs", ctrls[i], name);
		if (write_file(path, "0")) {
			cleanup();
			fail("cannot join %s: %m", path);
		}
	}
	test_daemon();
	test_waitsig();

	for (size_t i = 0; i < NR_CTRLS; i++) {
		snprintf(path, sizeof(path), "/%s", name);
		if (self_cgroup(ctrls[i], buf, sizeof(buf)) || strcmp(buf, path)) {
			cleanup();
			fail("in cgroup %s:%s, expected %s", ctrls[i], buf, path);
		}
	}
	for (size_t i = 0; i < NR_LIMITS; i++) {
		snprintf(path, sizeof(path), CG "/%s/%s/%s", limits[i].ctrl, name, limits[i].file);
		if (test_read_file(path, buf, sizeof(buf)) <= 0)
			buf[0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (strcmp(buf, limits[i].value)) {
			cleanup();
			fail("%s is '%s', expected %s", path, buf, limits[i].value);
		}
	}
	cleanup();
	pass();
}
