// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fault-tree: a small container for tests/faults/run.sh. Its init is PID 1
 * of new pid, uts, ipc, mount and network namespaces, with
 *   - a private /proc and a tmpfs on DIR/ft.tmpfs holding a file "data"
 *     (64 KiB of a known pattern) and a symlink;
 *   - eth0, one end of a veth pair whose other end is --veth HOST on the
 *     host (on --bridge BR if given), with 10.77.0.2/24, up;
 *   - with --macvlan LOWER, mv0, a bridge-mode macvlan on the host link
 *     LOWER, with 10.78.0.2/24, up;
 *   - its own v1 cgroups NAME (--cgroup) in memory, pids and freezer, with
 *     memory.limit_in_bytes 96 MiB and pids.max 32;
 *   - the host name "faulttree" and a child process.
 *
 *   fault-tree --pidfile F --outfile O --veth HOST [--bridge BR] --cgroup NAME
 *              [--macvlan LOWER]
 *
 * The launcher returns once the tree is ready and F holds init's host PID.
 * On SIGTERM init checks all of the above in itself (the cgroup by its
 * limits, wherever --cgroup-root put it), writes PASS or FAIL: why to O,
 * and exits with its child.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LIMIT "100663296"
#define PIDS "32"
#define DATA_SIZE 65536

static const char *pidfile, *outfile, *veth, *bridge, *cgname, *macvlan;
static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fault-tree: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(errno));
	_exit(1);
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

static int read_line(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "re");

	if (!f || !fgets(out, size, f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static char pattern(size_t i)
{
	return (char)(i * 7 + i / 251);
}

/* The cgroup of this process in the hierarchy of ctrl. */
static int self_cgroup(const char *ctrl, char *out, size_t size)
{
	char buf[4096], *s, *save = NULL;
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
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

static void verify(pid_t child)
{
	char buf[256], path[512], cg[256];
	static char data[DATA_SIZE + 1];
	int fd;
	ssize_t n;
	FILE *p;

	if (gethostname(buf, sizeof(buf)) < 0 || strcmp(buf, "faulttree"))
		fail("host name is '%s'", buf);
	fd = open("ft.tmpfs/data", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, data, sizeof(data));
	if (fd >= 0)
		close(fd);
	if (n != DATA_SIZE)
		fail("ft.tmpfs/data has %zd bytes", n);
	for (size_t i = 0; i < DATA_SIZE; i++)
		if (data[i] != pattern(i))
			fail("ft.tmpfs/data differs at byte %zu", i);
	n = readlink("ft.tmpfs/link", buf, sizeof(buf) - 1);
	if (n != 4 || strncmp(buf, "data", 4))
		fail("ft.tmpfs/link is gone");
	p = popen("ip -o -4 addr show dev eth0; ip -o link show dev eth0", "re");
	n = p ? (ssize_t)fread(data, 1, DATA_SIZE, p) : -1;
	if (p)
		pclose(p);
	data[n > 0 ? n : 0] = '\0';
	if (!strstr(data, "inet 10.77.0.2/24") || !strstr(data, ",UP"))
		fail("eth0 is not up with 10.77.0.2/24: %s", data);
	if (macvlan) {
		p = popen("ip -o -4 addr show dev mv0; ip -d -o link show dev mv0", "re");
		n = p ? (ssize_t)fread(data, 1, DATA_SIZE, p) : -1;
		if (p)
			pclose(p);
		data[n > 0 ? n : 0] = '\0';
		if (!strstr(data, "inet 10.78.0.2/24") || !strstr(data, "MULTICAST,UP") ||
		    !strstr(data, "macvlan mode bridge"))
			fail("mv0 is not an up bridge macvlan with 10.78.0.2/24: %s", data);
	}
	if (self_cgroup("memory", cg, sizeof(cg)) < 0 || !strcmp(cg, "/"))
		fail("not in a memory cgroup of its own");
	snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", cg);
	if (read_line(path, buf, sizeof(buf)) < 0 || strcmp(buf, LIMIT))
		fail("%s is '%s', not " LIMIT, path, buf);
	if (self_cgroup("pids", cg, sizeof(cg)) < 0 || !strcmp(cg, "/"))
		fail("not in a pids cgroup of its own");
	snprintf(path, sizeof(path), "/sys/fs/cgroup/pids%s/pids.max", cg);
	if (read_line(path, buf, sizeof(buf)) < 0 || strcmp(buf, PIDS))
		fail("%s is '%s', not " PIDS, path, buf);
	if (kill(child, 0) < 0)
		fail("the child %d is gone", child);
}

static int init_main(int go)
{
	char c;
	int fd;
	pid_t child;
	static char data[DATA_SIZE];
	struct sigaction sa = { .sa_handler = on_term };
	sigset_t none;

	if (read(go, &c, 1) != 1)
		_exit(1);
	close(go);
	if (setsid() < 0)
		die("setsid");
	if (sethostname("faulttree", 9) < 0)
		die("sethostname");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("mounting /proc");
	if ((mkdir("ft.tmpfs", 0755) < 0 && errno != EEXIST) ||
	    mount("ft-tmpfs", "ft.tmpfs", "tmpfs", MS_NOSUID, "size=1m,mode=750") < 0)
		die("mounting ft.tmpfs");
	for (size_t i = 0; i < DATA_SIZE; i++)
		data[i] = pattern(i);
	fd = open("ft.tmpfs/data", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, data, DATA_SIZE) != DATA_SIZE || close(fd) < 0 ||
	    symlink("data", "ft.tmpfs/link") < 0)
		die("files in ft.tmpfs");
	if (system("ip link set lo up && ip addr add 10.77.0.2/24 dev eth0 && ip link set eth0 up"))
		die("configuring eth0");
	if (macvlan && system("ip addr add 10.78.0.2/24 dev mv0 && ip link set mv0 up"))
		die("configuring mv0");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		close(3);
		for (;;)
			pause();
	}
	sigaction(SIGTERM, &sa, NULL);
	/* ready: the launcher writes the pidfile and goes */
	if (write(3, "R", 1) != 1)
		die("ready");
	close(3);
	sigemptyset(&none);
	while (!got_term)
		sigsuspend(&none);
	verify(child);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* one write: printf("PASS\n") becomes puts(), which on this unbuffered
	 * stdout writes "PASS" and "\n" apart, and the two copies that check
	 * at once share the file (seen: "PASSPASS\n\n") */
	if (write(1, "PASS\n", 5) != 5)
		return 1;
	return 0;
}

static void run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd)) {
		errno = EIO;
		die("'%s' failed", cmd);
	}
}

static void cgroups(pid_t pid)
{
	static const char *const ctrls[] = { "memory", "pids", "freezer" };
	char path[256], val[32];

	for (size_t i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]); i++) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s", ctrls[i], cgname);
		if (mkdir(path, 0755) < 0)
			die("mkdir %s", path);
	}
	snprintf(path, sizeof(path), "/sys/fs/cgroup/memory/%s/memory.limit_in_bytes", cgname);
	if (write_file(path, LIMIT) < 0)
		die("%s", path);
	snprintf(path, sizeof(path), "/sys/fs/cgroup/pids/%s/pids.max", cgname);
	if (write_file(path, PIDS) < 0)
		die("%s", path);
	for (size_t i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]); i++) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s/cgroup.procs", ctrls[i], cgname);
		snprintf(val, sizeof(val), "%d", pid);
		if (write_file(path, val) < 0)
			die("%s", path);
	}
}

int main(int argc, char **argv)
{
	int go[2], ready[2];
	long pid;
	char c, buf[32];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--pidfile"))
			pidfile = argv[i + 1];
		else if (!strcmp(argv[i], "--outfile"))
			outfile = argv[i + 1];
		else if (!strcmp(argv[i], "--veth"))
			veth = argv[i + 1];
		else if (!strcmp(argv[i], "--bridge"))
			bridge = argv[i + 1];
		else if (!strcmp(argv[i], "--cgroup"))
			cgname = argv[i + 1];
		else if (!strcmp(argv[i], "--macvlan"))
			macvlan = argv[i + 1];
	}
	if (!pidfile || !outfile || !veth || !cgname) {
		fprintf(stderr, "usage: fault-tree --pidfile F --outfile O --veth HOST [--bridge BR] --cgroup NAME [--macvlan LOWER]\n");
		return 2;
	}
	if (pipe2(go, O_CLOEXEC) < 0 || pipe(ready) < 0)
		die("pipe");
	pid = syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWNET | SIGCHLD,
		      NULL, NULL, NULL, 0);
	if (pid < 0)
		die("clone");
	if (pid == 0) {
		int fd, out, g = fcntl(go[0], F_DUPFD_CLOEXEC, 100), r = fcntl(ready[1], F_DUPFD, 101);

		close(go[1]);
		close(ready[0]);
		close(go[0]);
		close(ready[1]);
		go[0] = g;
		ready[1] = r;
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		out = open(outfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (g < 0 || r < 0 || fd < 0 || out < 0 || dup2(fd, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(out, 2) < 0 || dup2(ready[1], 3) < 0)
			die("stdio");
		/* nothing else open: the tree is dumped as it is */
		for (int f = 4; f < 1024; f++)
			if (f != go[0])
				close(f);
		setvbuf(stdout, NULL, _IONBF, 0);
		return init_main(go[0]);
	}
	close(go[0]);
	close(ready[1]);
	run("ip link add %s type veth peer name eth0 netns %ld && ip link set %s up%s%s", veth, pid, veth,
	    bridge ? " master " : "", bridge ? bridge : "");
	if (macvlan)
		run("ip link add link %s name mv0 netns %ld type macvlan mode bridge", macvlan, pid);
	cgroups((pid_t)pid);
	if (write(go[1], "G", 1) != 1)
		die("go");
	if (read(ready[0], &c, 1) != 1) {
		errno = EIO;
		die("the tree did not start (see %s)", outfile);
	}
	snprintf(buf, sizeof(buf), "%ld\n", pid);
	{
		char tmp[4096];
		int fd;

		snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf) || close(fd) < 0 ||
		    rename(tmp, pidfile) < 0)
			die("pidfile %s", pidfile);
	}
	return 0;
}
