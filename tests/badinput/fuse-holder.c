// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fuse-holder MODE DIR: set up a FUSE filesystem whose dump lxc-cr must
 * refuse, print the pid to dump, and stay until killed. In a mount
 * namespace of its own, it mounts a tiny FUSE fs (served by a thread of its
 * own: a root and one file "data") on DIR.
 *   outside   the pid printed is a child in the same mount namespace: the
 *             fs is the tree's, its server is not.
 *   nomount   the child holds the /dev/fuse descriptor but its mount
 *             namespace no longer has the mount: the connection serves a
 *             mount outside the tree.
 *   inherited the child holds the /dev/fuse descriptor in the holder's mount
 *             namespace: dumped from there (nsenter), the mount is
 *             lxc-cr's, not the tree's own.
 *   inflight  the holder itself and a child whose reads of DIR/data, one
 *             after the other, wait on the holder's server thread (it answers
 *             reads after 3 s): the server stops first, the reader cannot.
 *   inflight1 the same with a single read: once released for the server to
 *             answer it, the reader can be stopped.
 *   extbind   the child, in a mount namespace of its own, has only a bind of
 *             DIR/data on DIR.file (the FUSE mount itself detached there): a
 *             FUSE file served outside the tree. On SIGTERM it reads DIR.file
 *             into DIR.result and exits.
 *   openfile  the holder itself, with a descriptor open on DIR/data: a file
 *             of a FUSE fs (its server frozen with it). Stop it with SIGTERM:
 *             it closes that file while its server still answers the
 *             FUSE_FLUSH (killed, its last thread would wait on itself).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int fuse_fd;
static volatile int hold = -1;
static int slow_reads;

static const char *ext_dir;

/* extbind: read the bound FUSE file, leave what it said in DIR.result */
static void on_term_read(int sig)
{
	char p[4200], buf[64] = "";
	ssize_t n = -1;
	int fd;

	(void)sig;
	snprintf(p, sizeof(p), "%s.file", ext_dir);
	fd = open(p, O_RDONLY);
	if (fd >= 0)
		n = read(fd, buf, sizeof(buf) - 1);
	snprintf(p, sizeof(p), "%s.result", ext_dir);
	close(fd);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0 && n > 0 && write(fd, buf, n) != n)
		_exit(1);
	_exit(0);
}

static void on_term(int sig)
{
	(void)sig;
	if (hold >= 0)
		close(hold);
	_exit(0);
}

static void reply(uint64_t unique, int error, const void *data, size_t len)
{
	unsigned char out[sizeof(struct fuse_out_header) + 256];
	struct fuse_out_header *h = (void *)out;

	if (len > 256)
		len = 256;
	h->unique = unique;
	h->error = error;
	h->len = sizeof(*h) + (error ? 0 : len);
	if (!error && len)
		memcpy(out + sizeof(*h), data, len);
	if (write(fuse_fd, out, h->len) < 0 && errno != ENOENT)
		perror("fuse-holder: reply");
}

static void attr(struct fuse_attr *a, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = ino == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0444;
	a->nlink = ino == FUSE_ROOT_ID ? 2 : 1;
	a->size = ino == FUSE_ROOT_ID ? 0 : 4;
}

static void *server(void *arg)
{
	static unsigned char buf[1 << 18];
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		ssize_t n = read(fuse_fd, buf, sizeof(buf));
		struct fuse_in_header *in = (void *)buf;
		void *a = buf + sizeof(*in);

		if (n < 0 && (errno == EINTR || errno == ENOENT))
			continue;
		if (n < (ssize_t)sizeof(*in))
			return NULL;
		switch (in->opcode) {
		case FUSE_INIT: {
			struct fuse_init_out o = { .major = 7, .minor = 26, .max_write = 4096 };

			reply(in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out e = { .nodeid = 2 };

			attr(&e.attr, 2);
			reply(in->unique, strcmp(a, "data") ? -ENOENT : 0, &e, sizeof(e));
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out o = { 0 };

			attr(&o.attr, in->nodeid);
			reply(in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_OPEN:
		case FUSE_OPENDIR: {
			struct fuse_open_out o = { 0 };

			reply(in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_READ:
			if (slow_reads)
				sleep(3);
			reply(in->unique, 0, "abc\n", ((struct fuse_read_in *)a)->offset ? 0 : 4);
			break;
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
		case FUSE_INTERRUPT:
			break;
		case FUSE_RELEASE:
		case FUSE_RELEASEDIR:
		case FUSE_FLUSH:
			reply(in->unique, 0, NULL, 0);
			break;
		default:
			reply(in->unique, -ENOSYS, NULL, 0);
		}
	}
}

int main(int argc, char **argv)
{
	char opts[128], path[4096];
	pthread_t th;
	int p[2];
	pid_t child;

	if (argc != 3 || (strcmp(argv[1], "outside") && strcmp(argv[1], "nomount") &&
			  strcmp(argv[1], "inherited") && strncmp(argv[1], "inflight", 8) &&
			  strcmp(argv[1], "extbind") && strcmp(argv[1], "openfile"))) {
		fprintf(stderr, "usage: fuse-holder outside|nomount|inherited|inflight|inflight1|extbind|openfile DIR\n");
		return 2;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		perror("fuse-holder: mount namespace");
		return 1;
	}
	fuse_fd = open("/dev/fuse", O_RDWR);
	if (fuse_fd < 0) {
		perror("fuse-holder: /dev/fuse");
		return 77;
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40755,user_id=0,group_id=0,allow_other", fuse_fd);
	if (mount("holder", argv[2], "fuse.holder", 0, opts) < 0) {
		perror("fuse-holder: mount");
		return 77;
	}
	if (pthread_create(&th, NULL, server, NULL))
		return 1;
	if (!strncmp(argv[1], "inflight", 8)) {
		bool loop = !strcmp(argv[1], "inflight");
		char c;

		slow_reads = 1;
		setsid();
		child = fork();
		if (child == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(fuse_fd);
			snprintf(path, sizeof(path), "%s/data", argv[2]);
			do {
				hold = open(path, O_RDONLY);
				if (hold < 0 || read(hold, &c, 1) < 0)
					_exit(1);
				close(hold);
			} while (loop);
			for (;;)
				pause();
		}
		usleep(300000);	/* its read is in flight */
		printf("%d\n", getpid());
		fflush(stdout);
		for (;;)
			pause();
	}
	if (!strcmp(argv[1], "openfile")) {
		snprintf(path, sizeof(path), "%s/data", argv[2]);
		hold = open(path, O_RDONLY);
		if (hold < 0) {
			perror("fuse-holder: open data");
			return 1;
		}
		signal(SIGTERM, on_term);
		setsid();
		printf("%d\n", getpid());
		fflush(stdout);
		for (;;)
			pause();
	}
	if (pipe(p) < 0)
		return 1;
	child = fork();
	if (child == 0) {
		setsid();
		if (!strcmp(argv[1], "outside")) {
			close(fuse_fd);
		} else if (!strcmp(argv[1], "extbind")) {
			char file[4200];
			int fd;

			close(fuse_fd);
			ext_dir = argv[2];
			snprintf(file, sizeof(file), "%s.file", argv[2]);
			snprintf(path, sizeof(path), "%s/data", argv[2]);
			fd = open(file, O_WRONLY | O_CREAT, 0644);
			if (fd < 0 || close(fd) < 0 || unshare(CLONE_NEWNS) < 0 ||
			    mount(path, file, NULL, MS_BIND, NULL) < 0 || umount2(argv[2], MNT_DETACH) < 0) {
				perror("fuse-holder: extbind");
				_exit(1);
			}
			signal(SIGTERM, on_term_read);
		} else if (!strcmp(argv[1], "inherited")) {
			/* keeps the descriptor and the holder's mounts */
		} else if (unshare(CLONE_NEWNS) < 0 || umount2(argv[2], MNT_DETACH) < 0) {
			perror("fuse-holder: child without the mount");
			_exit(1);
		}
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		close(p[0]);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	if (child < 0 || read(p[0], opts, 1) != 1)
		return 1;
	signal(SIGCHLD, SIG_IGN);	/* a child killed by its dump leaves no zombie: its pid is free again */
	printf("%d\n", child);
	fflush(stdout);
	for (;;)
		pause();
}
