// SPDX-License-Identifier: LGPL-2.1-or-later
/* env00: argv, environment and auxv stay byte-identical across C/R. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

extern char **environ;

#define MARK "ZDTM_ENV00_MARK"

static size_t concat(char *buf, size_t size, char **v)
{
	size_t len = 0, l;

	for (; *v; v++) {
		l = strlen(*v) + 1;
		if (len + l > size)
			fail("argv/environment too big");
		memcpy(buf + len, *v, l);
		len += l;
	}
	return len;
}

static void cmp_file(const char *path, const char *exp, size_t len, const char *when)
{
	static char got[65536];
	long n;
	size_t i;

	n = test_read_file(path, got, sizeof(got));
	if (n < 0)
		fail("%s: cannot read %s", when, path);
	if ((size_t)n != len)
		fail("%s: %s is %ld bytes, expected %zu", when, path, n, len);
	for (i = 0; i < len; i++)
		if (got[i] != exp[i])
			fail("%s: %s differs at byte %zu (0x%02x, expected 0x%02x)", when, path, i,
			     (unsigned char)got[i], (unsigned char)exp[i]);
}

int main(int argc, char **argv)
{
	static char exp_cmd[32768], exp_env[32768], saved_args[32768], auxv[4096], auxv2[4096];
	size_t cmd_len, env_len;
	long aux_len, aux_len2;
	char *long_val;
	int i;

	if (!getenv(MARK)) {
		/* Re-exec with unusual arguments and environment. */
		char *nargv[argc + 4], *nenv[512], big[3000 + 32];
		int n = 0;

		for (i = 0; i < argc; i++)
			nargv[i] = argv[i];
		nargv[argc] = "an argument with  spaces\tand tab";
		nargv[argc + 1] = "";
		nargv[argc + 2] = "\x01\x7f\xfe\xff";
		nargv[argc + 3] = NULL;
		for (i = 0; environ[i] && n < 500; i++)
			nenv[n++] = environ[i];
		nenv[n++] = MARK "=1";
		nenv[n++] = "ZDTM_ENV00_EMPTY=";
		memcpy(big, "ZDTM_ENV00_LONG=", 16);
		datagen(big + 16, 3000, 17);
		for (i = 16; i < 3016; i++)
			big[i] = 'A' + ((unsigned char)big[i] % 26);
		big[3016] = '\0';
		nenv[n++] = big;
		nenv[n] = NULL;
		execve("/proc/self/exe", nargv, nenv);
		perror("execve");
		return 1;
	}

	test_init(argc, argv);

	cmd_len = concat(exp_cmd, sizeof(exp_cmd), argv);
	env_len = concat(exp_env, sizeof(exp_env), environ);
	memcpy(saved_args, argv[0], cmd_len);
	long_val = getenv("ZDTM_ENV00_LONG");
	if (!long_val || strlen(long_val) != 3000)
		fail("ZDTM_ENV00_LONG missing before C/R");
	cmp_file("/proc/self/cmdline", exp_cmd, cmd_len, "before C/R");
	cmp_file("/proc/self/environ", exp_env, env_len, "before C/R");
	aux_len = test_read_file("/proc/self/auxv", auxv, sizeof(auxv));
	if (aux_len <= 0)
		fail("cannot read /proc/self/auxv");

	test_daemon();
	test_waitsig();

	cmp_file("/proc/self/cmdline", exp_cmd, cmd_len, "after C/R");
	cmp_file("/proc/self/environ", exp_env, env_len, "after C/R");
	/* The strings themselves (argv area on the stack) are intact. */
	if (memcmp(saved_args, argv[0], cmd_len))
		fail("argv strings in memory changed");
	if (argc < 4 || strcmp(argv[argc - 3], "an argument with  spaces\tand tab") ||
	    argv[argc - 2][0] || strcmp(argv[argc - 1], "\x01\x7f\xfe\xff"))
		fail("argv contents changed");
	if (getenv("ZDTM_ENV00_LONG") != long_val)
		fail("getenv(ZDTM_ENV00_LONG) moved");
	if (!getenv("ZDTM_ENV00_EMPTY") || getenv("ZDTM_ENV00_EMPTY")[0])
		fail("ZDTM_ENV00_EMPTY changed");
	aux_len2 = test_read_file("/proc/self/auxv", auxv2, sizeof(auxv2));
	if (aux_len2 != aux_len || memcmp(auxv, auxv2, aux_len))
		fail("/proc/self/auxv changed (%ld -> %ld bytes)", aux_len, aux_len2);
	pass();
}
