/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ct-tcp: both ends of two TCP connections across a container's veth, for
 * run-tcp.sh to checkpoint and restore the container around them:
 *   a: the host connects to a server in the container,
 *   b: the container connects to a server on the host.
 * Each end of each connection sends its direction's stream and checks the
 * other direction's stream byte by byte: byte o of a stream is byte o % 8
 * (little-endian) of the 64-bit record (TAG << 48 | o / 8), TAG naming the
 * connection and the direction, so a gap, a duplicate or bytes of another
 * stream show at the first wrong byte, and where the stream goes on tells
 * how many bytes went missing (or came twice).
 *
 *   ct-tcp inner PORT HOSTADDR HOSTPORT STATUSDIR [MARK]  (in the container)
 *   ct-tcp host CTADDR CTPORT ADDR PORT STATUSDIR           (on the host)
 *
 * inner listens on PORT (and keeps the listener), accepts a, then connects
 * b to HOSTADDR:HOSTPORT. host listens on ADDR:PORT, connects a to
 * CTADDR:CTPORT (retrying for 10 s), then accepts b.
 * Each end sends up to CHUNK bytes every TICK_MS while STATUSDIR/pause does
 * not exist, reads whatever comes, and every 50 ms writes STATUSDIR/status:
 *   pid PID
 *   tick N             (counts the status files written: tells a fresh one)
 *   a sent=N recv=N bad=N eof=0|1 err=ERRNO state=TCP_STATE acked=N retrans=N
 *   b sent=...
 *   error TEXT         (one line per problem seen, the first 20)
 * "sent" counts bytes the kernel took, "recv" the stream offset reached,
 * "bad" the bytes that were not what the stream holds there. An EOF (a FIN
 * from the peer) or an error (a RST) on a connection is a failure too.
 * "acked" is the kernel's count of bytes the peer acknowledged (TCP_INFO's
 * tcpi_bytes_acked, less the SYN): more than the peer's "recv" once both are settled
 * means the peer's kernel acknowledged bytes its socket then lost.
 * SIGTERM ends it. MARK is ignored (it names the run in ps).
 * `ct-tcp selftest` checks the checker on streams with a gap, a duplicate
 * and foreign bytes (it prints one line per case; exit 0 if all told right).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/tcp.h>

#define CHUNK		1280	/* bytes per tick: ~256 KB/s each way */
#define TICK_MS		5
#define STATUS_MS	50
#define MAX_ERRORS	20

struct conn {
	const char *name;
	int fd;
	uint16_t tx_tag, rx_tag;
	uint64_t sent;		/* stream offset sent */
	uint64_t recv;		/* stream offset received */
	uint64_t bad;		/* bytes that did not match */
	int eof, err;
	int client;		/* connected (not accepted): the SYN counts in tcpi_bytes_acked */
	/* after a wrong byte: the next 16 bytes tell where the stream went on */
	int resync;
	unsigned char win[16];
	unsigned nwin;
	uint64_t bad_at;
};

static const char *statusdir;
static struct conn conns[2];
static char errors[MAX_ERRORS][200];
static unsigned nr_errors;
static unsigned long ticks;	/* status files written */
static volatile sig_atomic_t stop_req;

static void on_term(int sig)
{
	(void)sig;
	stop_req = 1;
}

static void __attribute__((format(printf, 1, 2))) error(const char *fmt, ...)
{
	va_list ap;

	if (nr_errors >= MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(errors[nr_errors++], sizeof(errors[0]), fmt, ap);
	va_end(ap);
}

static void write_status(void);

static void die(const char *what)
{
	fprintf(stderr, "ct-tcp: %s: %s\n", what, strerror(errno));
	error("setup: %s: %s", what, strerror(errno));
	write_status();
	exit(1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned char pat(uint16_t tag, uint64_t off)
{
	uint64_t v = (uint64_t)tag << 48 | off / 8;

	return (unsigned char)(v >> (8 * (off % 8)));
}

static const char *state_name(int s)
{
	static const char *const n[] = { "?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
		"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING" };

	return s > 0 && s < (int)(sizeof(n) / sizeof(n[0])) ? n[s] : "?";
}

static void write_status(void)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/status", statusdir);
	snprintf(tmp, sizeof(tmp), "%s/status.tmp", statusdir);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "pid %d\ntick %lu\n", (int)getpid(), ++ticks);
	for (int i = 0; i < 2; i++) {
		struct conn *c = &conns[i];
		struct tcp_info ti;
		socklen_t l = sizeof(ti);
		int st = 0;

		memset(&ti, 0, sizeof(ti));
		if (c->fd >= 0 && getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0)
			st = ti.tcpi_state;
		fprintf(f, "%s sent=%llu recv=%llu bad=%llu eof=%d err=%d state=%s acked=%llu "
			"retrans=%u\n", c->name, (unsigned long long)c->sent,
			(unsigned long long)c->recv, (unsigned long long)c->bad, c->eof, c->err,
			c->fd < 0 ? "none" : state_name(st), (unsigned long long)(ti.tcpi_bytes_acked - (c->client && ti.tcpi_bytes_acked)),
			ti.tcpi_total_retrans);
	}
	for (unsigned i = 0; i < nr_errors; i++)
		fprintf(f, "error %s\n", errors[i]);
	if (fclose(f) == 0)
		rename(tmp, path);
}

/*
 * Where does a stream of tag go on, given 16 bytes of it? Returns the offset
 * of w[0], or -1 when these are not 16 consecutive bytes of that stream.
 */
static int64_t locate(uint16_t tag, const unsigned char *w)
{
	for (unsigned r = 0; r < 8; r++) {
		unsigned j0 = (8 - r) % 8;
		uint64_t v = 0;
		int64_t b;
		unsigned j;

		for (j = 0; j < 8; j++)
			v |= (uint64_t)w[j0 + j] << (8 * j);
		if (v >> 48 != tag)
			continue;
		b = (int64_t)((v & 0xffffffffffffULL) * 8) - j0;
		if (b < 0)
			continue;
		for (j = 0; j < 16 && w[j] == pat(tag, b + j); j++)
			;
		if (j == 16)
			return b;
	}
	return -1;
}

static void check(struct conn *c, const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (c->resync == 2) {	/* lost track: only count */
			c->recv++;
			c->bad++;
			continue;
		}
		if (c->resync) {
			int64_t b;

			c->win[c->nwin++] = buf[i];
			if (c->nwin < sizeof(c->win))
				continue;
			b = locate(c->rx_tag, c->win);
			if (b < 0) {
				error("%s: at stream offset %llu: bytes that are not of this stream "
				      "(%02x %02x %02x %02x %02x %02x %02x %02x ...)", c->name,
				      (unsigned long long)c->bad_at, c->win[0], c->win[1], c->win[2],
				      c->win[3], c->win[4], c->win[5], c->win[6], c->win[7]);
				c->bad += sizeof(c->win);
				c->recv += sizeof(c->win);
				c->resync = 2;
				continue;
			}
			if ((uint64_t)b > c->bad_at)
				error("%s: GAP: %llu bytes missing: stream offsets %llu..%llu never "
				      "arrived, the stream went on at %llu", c->name,
				      (unsigned long long)(b - c->bad_at), (unsigned long long)c->bad_at,
				      (unsigned long long)(b - 1), (unsigned long long)b);
			else
				error("%s: DUPLICATE: where stream offset %llu was due came offset %llu "
				      "again (%llu bytes twice)", c->name, (unsigned long long)c->bad_at,
				      (unsigned long long)b, (unsigned long long)(c->bad_at - b));
			c->bad++;
			c->recv = b + sizeof(c->win);
			c->resync = 0;
			continue;
		}
		if (buf[i] == pat(c->rx_tag, c->recv)) {
			c->recv++;
			continue;
		}
		c->resync = 1;
		c->bad_at = c->recv;
		c->nwin = 0;
		c->win[c->nwin++] = buf[i];
	}
}

static void do_read(struct conn *c)
{
	unsigned char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n > 0) {
			check(c, buf, n);
			continue;
		}
		if (n == 0) {
			c->eof = 1;
			error("%s: EOF (the peer closed: FIN) at stream offset %llu", c->name,
			      (unsigned long long)c->recv);
		} else if (errno != EAGAIN && errno != EINTR) {
			c->err = errno;
			error("%s: read: %s at stream offset %llu", c->name, strerror(errno),
			      (unsigned long long)c->recv);
		}
		return;
	}
}

static void do_write(struct conn *c)
{
	unsigned char buf[CHUNK];
	ssize_t n;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pat(c->tx_tag, c->sent + i);
	n = write(c->fd, buf, sizeof(buf));
	if (n > 0)
		c->sent += n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR && !c->err) {
		c->err = errno;
		error("%s: write: %s at stream offset %llu", c->name, strerror(errno),
		      (unsigned long long)c->sent);
	}
}

static int paused(void)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/pause", statusdir);
	return access(path, F_OK) == 0;
}

static void addr_of(struct sockaddr_in *a, const char *ip, const char *port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons(atoi(port));
	if (inet_pton(AF_INET, ip, &a->sin_addr) != 1) {
		errno = EINVAL;
		die(ip);
	}
}

static int listen_on(const char *ip, const char *port)
{
	struct sockaddr_in a;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	addr_of(&a, ip, port);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0)
		die("listen");
	return fd;
}

static int connect_to(const char *ip, const char *port)
{
	struct sockaddr_in a;

	addr_of(&a, ip, port);
	for (int i = 0; i < 100; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		close(fd);
		usleep(100000);
	}
	die("connect");
	return -1;
}

static int accept_one(int lsk)
{
	struct pollfd p = { .fd = lsk, .events = POLLIN };
	int fd;

	if (poll(&p, 1, 10000) != 1)
		die("accept: nobody came in 10 s");
	fd = accept(lsk, NULL, NULL);
	if (fd < 0)
		die("accept");
	return fd;
}

/*
 * The checker itself: a stream with bytes left out, one with bytes twice
 * and one with a foreign byte must each be told as such, a whole one not.
 */
static int selftest(void)
{
	static const struct { uint64_t cut, skip, dup; const char *want; } cases[] = {
		{ 0, 0, 0, NULL },
		{ 1001, 77, 0, "GAP: 77 bytes missing: stream offsets 1001..1077 never arrived" },
		{ 4096, 8, 0, "GAP: 8 bytes missing: stream offsets 4096..4103" },
		{ 2003, 0, 13, "DUPLICATE: where stream offset 2003 was due came offset 1990 again (13 bytes" },
		{ 500, 0, 0, "bytes that are not of this stream" },
	};
	unsigned char buf[8192];
	int failed = 0;

	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct conn c = { .name = "t", .rx_tag = 0xa1 };
		size_t n = 0;

		for (uint64_t o = 0; o < 6000; o++) {
			if (o == cases[k].cut && cases[k].skip)
				o += cases[k].skip;
			if (o == cases[k].cut && cases[k].dup) {
				for (uint64_t d = o - cases[k].dup; d < o; d++)
					buf[n++] = pat(0xa1, d);
			}
			buf[n++] = pat(0xa1, o);
		}
		if (k == 4)
			memset(buf + 500, 0x55, 32);
		nr_errors = 0;
		/* in pieces of every size, as reads return them */
		for (size_t i = 0, step = 1; i < n; i += step, step = step % 97 + 1)
			check(&c, buf + i, i + step > n ? n - i : step);
		if (cases[k].want ? (!nr_errors || !strstr(errors[0], cases[k].want)) : nr_errors != 0) {
			printf("selftest case %u: got \"%s\", want \"%s\"\n", k,
			       nr_errors ? errors[0] : "", cases[k].want ? cases[k].want : "");
			failed = 1;
		} else {
			printf("selftest case %u: %s\n", k, nr_errors ? errors[0] : "whole stream, no error");
		}
		if (!cases[k].want && c.recv != 6000) {
			printf("selftest case %u: recv %llu, want 6000\n", k, (unsigned long long)c.recv);
			failed = 1;
		}
	}
	return failed;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	uint64_t next_tick, next_status;
	int lsk;

	if (argc == 2 && !strcmp(argv[1], "selftest"))
		return selftest();
	if (argc >= 6 && !strcmp(argv[1], "inner")) {
		statusdir = argv[5];
		conns[0] = (struct conn){ .name = "a", .fd = -1, .tx_tag = 0xa2, .rx_tag = 0xa1 };
		conns[1] = (struct conn){ .name = "b", .fd = -1, .tx_tag = 0xb1, .rx_tag = 0xb2 };
		write_status();
		lsk = listen_on("0.0.0.0", argv[2]);
		conns[0].fd = accept_one(lsk);
		conns[1].fd = connect_to(argv[3], argv[4]);
		conns[1].client = 1;
	} else if (argc == 7 && !strcmp(argv[1], "host")) {
		statusdir = argv[6];
		conns[0] = (struct conn){ .name = "a", .fd = -1, .tx_tag = 0xa1, .rx_tag = 0xa2 };
		conns[1] = (struct conn){ .name = "b", .fd = -1, .tx_tag = 0xb2, .rx_tag = 0xb1 };
		write_status();
		lsk = listen_on(argv[4], argv[5]);
		conns[0].fd = connect_to(argv[2], argv[3]);
		conns[0].client = 1;
		conns[1].fd = accept_one(lsk);
		close(lsk);
	} else {
		fprintf(stderr, "usage: %s inner PORT HOSTADDR HOSTPORT STATUSDIR [MARK]\n"
			"       %s host CTADDR CTPORT ADDR PORT STATUSDIR\n", argv[0], argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (int i = 0; i < 2; i++)
		fcntl(conns[i].fd, F_SETFL, fcntl(conns[i].fd, F_GETFL) | O_NONBLOCK);

	next_tick = next_status = now_ms();
	while (!stop_req) {
		struct pollfd p[2];
		uint64_t t = now_ms();
		int timeout;

		if (t >= next_tick) {
			int pause = paused();

			for (int i = 0; i < 2; i++)
				if (!pause && !conns[i].eof && !conns[i].err)
					do_write(&conns[i]);
			next_tick = t + TICK_MS;
		}
		if (t >= next_status) {
			write_status();
			next_status = t + STATUS_MS;
		}
		timeout = (int)((next_tick < next_status ? next_tick : next_status) - t);
		for (int i = 0; i < 2; i++) {
			p[i].fd = conns[i].eof || conns[i].err ? -1 : conns[i].fd;
			p[i].events = POLLIN;
			p[i].revents = 0;
		}
		if (poll(p, 2, timeout < 0 ? 0 : timeout) < 0 && errno != EINTR)
			die("poll");
		for (int i = 0; i < 2; i++)
			if (p[i].revents & (POLLIN | POLLERR | POLLHUP))
				do_read(&conns[i]);
	}
	write_status();
	return 0;
}
