/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zdtmtst: support library for the real-program checkpoint/restore tests.
 *
 * A test sets up one kind of state, calls test_daemon() to say "ready",
 * waits in test_waitsig() while the harness checkpoints and restores it,
 * then verifies its state and calls pass() or fail().
 */
#ifndef ZDTMTST_H
#define ZDTMTST_H

#include <stddef.h>
#include <stdint.h>

#define ZDTM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ZDTM_NORETURN __attribute__((noreturn))

/* Parse --pidfile/--outfile (or ZDTM_PIDFILE/ZDTM_OUTFILE) and daemonize. */
void test_init(int argc, char **argv);
/* State is set up: publish our pid and release the launching parent. */
void test_daemon(void);
/* Block until SIGTERM arrived. */
void test_waitsig(void);
/* Non-zero once SIGTERM arrived (for tests that keep working). */
int test_sigterm_received(void);

void pass(void) ZDTM_NORETURN;
void fail(const char *fmt, ...) ZDTM_PRINTF(1, 2) ZDTM_NORETURN;
void skip(const char *fmt, ...) ZDTM_PRINTF(1, 2) ZDTM_NORETURN;
void test_msg(const char *fmt, ...) ZDTM_PRINTF(1, 2);

/* Deterministic pseudo-random bytes; datachk returns 0 on match. */
void datagen(void *buf, size_t len, uint32_t seed);
int datachk(const void *buf, size_t len, uint32_t seed);

/* Extras beyond the core API. */

/* Address of the SIGTERM flag (for asm loops that poll it). */
volatile int *test_sigterm_flag(void);
/* Sleep for ms milliseconds (restarting on EINTR). */
void test_msleep(unsigned int ms);
/* Offset of the first differing byte of datagen(seed) in buf, or -1. */
long datadiff(const void *buf, size_t len, uint32_t seed);
/* Read a whole small file into buf (NUL-terminated); returns length or -1. */
long test_read_file(const char *path, char *buf, size_t size);

/* A zeroed int in MAP_SHARED anonymous memory (survives fork, for flags). */
volatile int *mmap_shared_int(void);

/*
 * Per-page protections of [addr, addr + npages * page) from /proc/self/maps,
 * as "rwxp"/"rwxs" strings of 4 chars in out[i * 4]; "----" where unmapped.
 * Returns 0, or -1 if /proc/self/maps cannot be read.
 */
int test_page_prots(void *addr, size_t npages, char *out);

#endif /* ZDTMTST_H */
