// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An epoll instance watching a pipe read end (with data), a pipe write end,
 * an eventfd (non-zero) and an empty eventfd, each with its own events mask
 * and data.u64. After C/R the interest list (fdinfo tfd/events/data) is the
 * same, epoll_wait reports the same ready set, and EPOLL_CTL_MOD/DEL/ADD on
 * the restored registrations work.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include "fdutil.h"

#define NT 4

struct reg {
	int fd;
	uint32_t events;
	uint64_t data;
};

struct tfd {
	int fd;
	unsigned events;
	unsigned long long data;
};

static int read_tfds(int ep, struct tfd *t, int max)
{
	char path[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	f = fopen(path, "r");
	if (!f)
		fail("open %s", path);
	while (fgets(line, sizeof(line), f)) {
		struct tfd x;

		if (sscanf(line, "tfd: %d events: %x data: %llx", &x.fd, &x.events, &x.data) != 3)
			continue;
		if (n < max)
			t[n] = x;
		n++;
	}
	fclose(f);
	return n;
}

static const struct tfd *find(const struct tfd *t, int n, int fd)
{
	for (int i = 0; i < n; i++)
		if (t[i].fd == fd)
			return &t[i];
	return NULL;
}

static uint32_t ready_mask(const struct epoll_event *ev, int n, uint64_t data)
{
	for (int i = 0; i < n; i++)
		if (ev[i].data.u64 == data)
			return ev[i].events;
	return 0;
}

int main(int argc, char **argv)
{
	struct reg regs[NT];
	struct tfd before[8], after[8];
	struct epoll_event ev[8];
	int ep, p[2], efd, efd0, nb, na, n;
	uint64_t v = 7;

	test_init(argc, argv);
	ep = epoll_create1(EPOLL_CLOEXEC);
	efd = eventfd(0, EFD_NONBLOCK);
	efd0 = eventfd(0, EFD_NONBLOCK);
	if (ep < 0 || efd < 0 || efd0 < 0 || pipe(p))
		fail("setup");
	write_pattern(p[1], 123, 1, "pipe");
	if (write(efd, &v, 8) != 8)
		fail("eventfd write");
	regs[0] = (struct reg){ p[0], EPOLLIN | EPOLLRDHUP, 0x1111222233334444ULL };
	regs[1] = (struct reg){ p[1], EPOLLOUT, 0xfedcba9876543210ULL };
	regs[2] = (struct reg){ efd, EPOLLIN | EPOLLOUT | EPOLLPRI, 0xdeadbeefcafef00dULL };
	regs[3] = (struct reg){ efd0, EPOLLIN, 42 };
	for (int i = 0; i < NT; i++) {
		struct epoll_event e = { .events = regs[i].events, .data.u64 = regs[i].data };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, regs[i].fd, &e))
			fail("EPOLL_CTL_ADD %d", regs[i].fd);
	}
	nb = read_tfds(ep, before, 8);
	if (nb != NT)
		fail("fdinfo lists %d targets, want %d", nb, NT);

	test_daemon();
	test_waitsig();

	CHECK(fcntl(ep, F_GETFD) == FD_CLOEXEC, "epoll fd lost FD_CLOEXEC");
	na = read_tfds(ep, after, 8);
	if (na != nb)
		fail("epoll watches %d fds after C/R, %d before", na, nb);
	for (int i = 0; i < NT; i++) {
		const struct tfd *b = find(before, nb, regs[i].fd), *a = find(after, na, regs[i].fd);

		if (!a)
			fail("fd %d no longer watched", regs[i].fd);
		if (a->events != b->events || a->data != b->data)
			fail("fd %d: events %#x data %#llx, was %#x %#llx", regs[i].fd, a->events,
			     a->data, b->events, b->data);
		if (a->data != regs[i].data)
			fail("fd %d: data %#llx, want %#llx", regs[i].fd, a->data,
			     (unsigned long long)regs[i].data);
	}

	n = epoll_wait(ep, ev, 8, 0);
	if (n != 3)
		fail("epoll_wait reports %d ready fds, want 3", n);
	CHECK(ready_mask(ev, n, regs[0].data) == EPOLLIN, "pipe read end: %#x",
	      ready_mask(ev, n, regs[0].data));
	CHECK(ready_mask(ev, n, regs[1].data) == EPOLLOUT, "pipe write end: %#x",
	      ready_mask(ev, n, regs[1].data));
	CHECK(ready_mask(ev, n, regs[2].data) == (EPOLLIN | EPOLLOUT), "eventfd: %#x",
	      ready_mask(ev, n, regs[2].data));
	CHECK(ready_mask(ev, n, regs[3].data) == 0, "empty eventfd reported ready");

	/* MOD an existing registration: only EPOLLOUT, new data */
	{
		struct epoll_event e = { .events = EPOLLOUT, .data.u64 = 0xabcdULL };

		if (epoll_ctl(ep, EPOLL_CTL_MOD, efd, &e))
			fail("EPOLL_CTL_MOD on a restored registration");
		if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &e) != -1 || errno != EEXIST)
			fail("restored registration missing (ADD did not give EEXIST)");
		if (epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL))
			fail("EPOLL_CTL_DEL on a restored registration");
	}
	read_pattern(p[0], 123, 1, "pipe data");
	if (write(efd0, &v, 8) != 8)
		fail("eventfd write");
	n = epoll_wait(ep, ev, 8, 0);
	if (n != 2 || ready_mask(ev, n, 0xabcdULL) != EPOLLOUT || ready_mask(ev, n, 42) != EPOLLIN)
		fail("after MOD/DEL: %d ready", n);
	close(p[1]);
	n = epoll_wait(ep, ev, 8, 0);
	/* a pipe reports EPOLLHUP (not EPOLLRDHUP) once the writer is gone */
	if (ready_mask(ev, n, regs[0].data) != EPOLLHUP)
		fail("pipe hangup mask %#x", ready_mask(ev, n, regs[0].data));
	pass();
}
