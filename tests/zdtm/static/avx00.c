// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * avx00: the full 256 bits of all 16 YMM registers survive C/R in two
 * threads spinning (around nanosleep) in a register-only loop.
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

struct avx_state {
	uint8_t ymm_in[16][32];		/* 0 */
	uint8_t ymm_out[16][32];	/* 512 */
	struct timespec ts;		/* 1024 */
	volatile uint32_t loaded;	/* 1040 */
	uint32_t pad;
	volatile int *flag;		/* 1048 */
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct avx_state, ts) == 1024, "layout");
_Static_assert(offsetof(struct avx_state, loaded) == 1040, "layout");
_Static_assert(offsetof(struct avx_state, flag) == 1048, "layout");

#define NT 2
static struct avx_state st[NT];

__attribute__((target("avx"))) static void *avx_loop(void *arg)
{
	struct avx_state *s = arg;

	asm volatile(
		"vmovdqu 0(%[p]), %%ymm0\n\t"
		"vmovdqu 32(%[p]), %%ymm1\n\t"
		"vmovdqu 64(%[p]), %%ymm2\n\t"
		"vmovdqu 96(%[p]), %%ymm3\n\t"
		"vmovdqu 128(%[p]), %%ymm4\n\t"
		"vmovdqu 160(%[p]), %%ymm5\n\t"
		"vmovdqu 192(%[p]), %%ymm6\n\t"
		"vmovdqu 224(%[p]), %%ymm7\n\t"
		"vmovdqu 256(%[p]), %%ymm8\n\t"
		"vmovdqu 288(%[p]), %%ymm9\n\t"
		"vmovdqu 320(%[p]), %%ymm10\n\t"
		"vmovdqu 352(%[p]), %%ymm11\n\t"
		"vmovdqu 384(%[p]), %%ymm12\n\t"
		"vmovdqu 416(%[p]), %%ymm13\n\t"
		"vmovdqu 448(%[p]), %%ymm14\n\t"
		"vmovdqu 480(%[p]), %%ymm15\n\t"
		"movl $1, 1040(%[p])\n\t"
		"1:\n\t"
		"movl $35, %%eax\n\t"
		"leaq 1024(%[p]), %%rdi\n\t"
		"xorl %%esi, %%esi\n\t"
		"syscall\n\t"
		"movq 1048(%[p]), %%rax\n\t"
		"movl (%%rax), %%eax\n\t"
		"testl %%eax, %%eax\n\t"
		"jz 1b\n\t"
		"vmovdqu %%ymm0, 512(%[p])\n\t"
		"vmovdqu %%ymm1, 544(%[p])\n\t"
		"vmovdqu %%ymm2, 576(%[p])\n\t"
		"vmovdqu %%ymm3, 608(%[p])\n\t"
		"vmovdqu %%ymm4, 640(%[p])\n\t"
		"vmovdqu %%ymm5, 672(%[p])\n\t"
		"vmovdqu %%ymm6, 704(%[p])\n\t"
		"vmovdqu %%ymm7, 736(%[p])\n\t"
		"vmovdqu %%ymm8, 768(%[p])\n\t"
		"vmovdqu %%ymm9, 800(%[p])\n\t"
		"vmovdqu %%ymm10, 832(%[p])\n\t"
		"vmovdqu %%ymm11, 864(%[p])\n\t"
		"vmovdqu %%ymm12, 896(%[p])\n\t"
		"vmovdqu %%ymm13, 928(%[p])\n\t"
		"vmovdqu %%ymm14, 960(%[p])\n\t"
		"vmovdqu %%ymm15, 992(%[p])\n\t"
		"vzeroupper\n\t"
		:
		: [p] "r"(s)
		: "rax", "rcx", "rdx", "rdi", "rsi", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NT];
	int t, i;

	test_init(argc, argv);
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx"))
		skip("no AVX on this CPU");

	for (t = 0; t < NT; t++) {
		datagen(st[t].ymm_in, sizeof(st[t].ymm_in), 700 + t);
		st[t].ts.tv_nsec = 5 * 1000 * 1000;
		st[t].flag = test_sigterm_flag();
		if (pthread_create(&th[t], NULL, avx_loop, &st[t]))
			fail("pthread_create");
	}
	for (t = 0; t < NT; t++)
		while (!st[t].loaded)
			test_msleep(2);

	test_daemon();
	test_waitsig();

	for (t = 0; t < NT; t++) {
		pthread_join(th[t], NULL);
		for (i = 0; i < 16; i++) {
			if (memcmp(st[t].ymm_in[i], st[t].ymm_out[i], 16))
				fail("thread %d: ymm%d low 128 bits differ", t, i);
			if (memcmp(st[t].ymm_in[i] + 16, st[t].ymm_out[i] + 16, 16))
				fail("thread %d: ymm%d upper 128 bits differ", t, i);
		}
	}
	pass();
}
