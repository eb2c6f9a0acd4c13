// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mprotect00: one mapping split by mprotect into pages of alternating
 * protections; protections are enforced after restore and the contents of
 * every page, PROT_NONE ones included, are intact.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NPAGES 32

static const int prot_of[4] = { PROT_READ, PROT_NONE, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC };
static const char *const str_of[4] = { "r--p", "---p", "rw-p", "r-xp" };
static sigjmp_buf jb;
static volatile int faults;

static void on_segv(int sig)
{
	faults++;
	siglongjmp(jb, 1);
}

static int try_write(volatile unsigned char *p)
{
	if (sigsetjmp(jb, 1))
		return -1;
	*p = *p;
	return 0;
}

static int try_read(volatile unsigned char *p)
{
	if (sigsetjmp(jb, 1))
		return -1;
	(void)*p;
	return 0;
}

int main(int argc, char **argv)
{
	size_t pg = sysconf(_SC_PAGESIZE);
	char prots[NPAGES * 4];
	struct sigaction sa;
	unsigned char *m;
	int i, k;
	long off;

	test_init(argc, argv);
	m = mmap(NULL, NPAGES * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap");
	datagen(m, NPAGES * pg, 42);
	for (i = 0; i < NPAGES; i++)
		if (mprotect(m + i * pg, pg, prot_of[i % 4]))
			fail("mprotect page %d", i);

	test_daemon();
	test_waitsig();

	if (test_page_prots(m, NPAGES, prots))
		fail("cannot read /proc/self/maps");
	for (i = 0; i < NPAGES; i++)
		if (memcmp(prots + i * 4, str_of[i % 4], 4))
			fail("page %d: protection %.4s, expected %s", i, prots + i * 4, str_of[i % 4]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_segv;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	for (i = 0; i < NPAGES; i++) {
		k = i % 4;
		if ((try_read(m + i * pg) < 0) != (k == 1))
			fail("page %d: read %s", i, k == 1 ? "did not fault" : "faulted");
		if ((try_write(m + i * pg + 7) < 0) != (k != 2))
			fail("page %d: write %s", i, k != 2 ? "did not fault" : "faulted");
	}
	signal(SIGSEGV, SIG_DFL);
	if (mprotect(m, NPAGES * pg, PROT_READ))
		fail("mprotect all");
	off = datadiff(m, NPAGES * pg, 42);
	if (off >= 0)
		fail("byte %ld (page %ld, %s) differs", off, off / (long)pg, str_of[(off / pg) % 4]);
	pass();
}
