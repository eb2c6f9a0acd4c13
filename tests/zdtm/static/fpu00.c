// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fpu00: x87 stack and control word, MXCSR and all 16 XMM registers hold
 * their values in two threads that sit in a register-only loop (around
 * nanosleep) for the whole checkpoint/restore.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "zdtmtst.h"

struct fpu_state {
	uint8_t xmm_in[16][16];		/* 0 */
	uint8_t xmm_out[16][16];	/* 256 */
	uint8_t x87_in[8][16];		/* 512: 80-bit values, 16-byte stride */
	uint8_t x87_out[8][16];		/* 640 */
	uint32_t mxcsr_in;		/* 768 */
	uint32_t mxcsr_out;		/* 772 */
	uint16_t fcw_in;		/* 776 */
	uint16_t fcw_out;		/* 778 */
	uint32_t pad;
	struct timespec ts;		/* 784 */
	volatile int *flag;		/* 800 */
	volatile uint32_t loaded;	/* 808 */
	char err[200];
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct fpu_state, x87_in) == 512, "layout");
_Static_assert(offsetof(struct fpu_state, mxcsr_in) == 768, "layout");
_Static_assert(offsetof(struct fpu_state, fcw_in) == 776, "layout");
_Static_assert(offsetof(struct fpu_state, ts) == 784, "layout");
_Static_assert(offsetof(struct fpu_state, flag) == 800, "layout");
_Static_assert(offsetof(struct fpu_state, loaded) == 808, "layout");

#define NT 2
static struct fpu_state st[NT];

static void make_x87(uint8_t *v, uint32_t seed)
{
	/* A normal 80-bit extended value: explicit integer bit, sane exponent. */
	datagen(v, 10, seed);
	v[7] |= 0x80;
	v[8] = (uint8_t)(seed & 0xff);
	v[9] = 0x3f | (seed & 1 ? 0x80 : 0);
	memset(v + 10, 0, 6);
}

static void *fpu_loop(void *arg)
{
	struct fpu_state *s = arg;

	asm volatile(
		"fninit\n\t"
		"fldcw 776(%[p])\n\t"
		"fldt 624(%[p])\n\t"
		"fldt 608(%[p])\n\t"
		"fldt 592(%[p])\n\t"
		"fldt 576(%[p])\n\t"
		"fldt 560(%[p])\n\t"
		"fldt 544(%[p])\n\t"
		"fldt 528(%[p])\n\t"
		"fldt 512(%[p])\n\t"
		"ldmxcsr 768(%[p])\n\t"
		"movdqu 0(%[p]), %%xmm0\n\t"
		"movdqu 16(%[p]), %%xmm1\n\t"
		"movdqu 32(%[p]), %%xmm2\n\t"
		"movdqu 48(%[p]), %%xmm3\n\t"
		"movdqu 64(%[p]), %%xmm4\n\t"
		"movdqu 80(%[p]), %%xmm5\n\t"
		"movdqu 96(%[p]), %%xmm6\n\t"
		"movdqu 112(%[p]), %%xmm7\n\t"
		"movdqu 128(%[p]), %%xmm8\n\t"
		"movdqu 144(%[p]), %%xmm9\n\t"
		"movdqu 160(%[p]), %%xmm10\n\t"
		"movdqu 176(%[p]), %%xmm11\n\t"
		"movdqu 192(%[p]), %%xmm12\n\t"
		"movdqu 208(%[p]), %%xmm13\n\t"
		"movdqu 224(%[p]), %%xmm14\n\t"
		"movdqu 240(%[p]), %%xmm15\n\t"
		"movl $1, 808(%[p])\n\t"
		"1:\n\t"
		"movl $35, %%eax\n\t"
		"leaq 784(%[p]), %%rdi\n\t"
		"xorl %%esi, %%esi\n\t"
		"syscall\n\t"
		"movq 800(%[p]), %%rax\n\t"
		"movl (%%rax), %%eax\n\t"
		"testl %%eax, %%eax\n\t"
		"jz 1b\n\t"
		"movdqu %%xmm0, 256(%[p])\n\t"
		"movdqu %%xmm1, 272(%[p])\n\t"
		"movdqu %%xmm2, 288(%[p])\n\t"
		"movdqu %%xmm3, 304(%[p])\n\t"
		"movdqu %%xmm4, 320(%[p])\n\t"
		"movdqu %%xmm5, 336(%[p])\n\t"
		"movdqu %%xmm6, 352(%[p])\n\t"
		"movdqu %%xmm7, 368(%[p])\n\t"
		"movdqu %%xmm8, 384(%[p])\n\t"
		"movdqu %%xmm9, 400(%[p])\n\t"
		"movdqu %%xmm10, 416(%[p])\n\t"
		"movdqu %%xmm11, 432(%[p])\n\t"
		"movdqu %%xmm12, 448(%[p])\n\t"
		"movdqu %%xmm13, 464(%[p])\n\t"
		"movdqu %%xmm14, 480(%[p])\n\t"
		"movdqu %%xmm15, 496(%[p])\n\t"
		"stmxcsr 772(%[p])\n\t"
		"fnstcw 778(%[p])\n\t"
		"fstpt 640(%[p])\n\t"
		"fstpt 656(%[p])\n\t"
		"fstpt 672(%[p])\n\t"
		"fstpt 688(%[p])\n\t"
		"fstpt 704(%[p])\n\t"
		"fstpt 720(%[p])\n\t"
		"fstpt 736(%[p])\n\t"
		"fstpt 752(%[p])\n\t"
		:
		: [p] "r"(s)
		: "rax", "rcx", "rdx", "rdi", "rsi", "r11", "memory", "cc",
		  "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	return NULL;
}

static void check(struct fpu_state *s, int idx)
{
	int i;

	for (i = 0; i < 16; i++)
		if (memcmp(s->xmm_in[i], s->xmm_out[i], 16))
			fail("thread %d: xmm%d differs", idx, i);
	for (i = 0; i < 8; i++)
		if (memcmp(s->x87_in[i], s->x87_out[i], 10))
			fail("thread %d: st(%d) differs", idx, i);
	if (s->mxcsr_in != s->mxcsr_out)
		fail("thread %d: mxcsr 0x%x, expected 0x%x", idx, s->mxcsr_out, s->mxcsr_in);
	if (s->fcw_in != s->fcw_out)
		fail("thread %d: x87 control word 0x%x, expected 0x%x", idx, s->fcw_out, s->fcw_in);
}

int main(int argc, char **argv)
{
	pthread_t th[NT];
	int t, i;

	test_init(argc, argv);

	for (t = 0; t < NT; t++) {
		struct fpu_state *s = &st[t];

		datagen(s->xmm_in, sizeof(s->xmm_in), 500 + t);
		for (i = 0; i < 8; i++)
			make_x87(s->x87_in[i], 600 + 8 * t + i);
		/* Round toward zero, flush-to-zero, denormals-are-zero, all masked. */
		s->mxcsr_in = t ? 0xffc0 : 0x7f80;
		/* Round toward zero / down, 53-bit precision, exceptions masked. */
		s->fcw_in = t ? 0x0e7f : 0x067f;
		s->ts.tv_nsec = 5 * 1000 * 1000;
		s->flag = test_sigterm_flag();
		if (pthread_create(&th[t], NULL, fpu_loop, s))
			fail("pthread_create");
	}
	for (t = 0; t < NT; t++)
		while (!st[t].loaded)
			test_msleep(2);

	test_daemon();
	test_waitsig();

	for (t = 0; t < NT; t++) {
		pthread_join(th[t], NULL);
		check(&st[t], t);
	}
	pass();
}
