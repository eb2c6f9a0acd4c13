// SPDX-License-Identifier: LGPL-2.1-or-later
/* personality00: the personality (ADDR_NO_RANDOMIZE | UNAME26) is restored and in effect. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <string.h>
#include <sys/personality.h>
#include <sys/utsname.h>

#include "zdtmtst.h"

int main(int argc, char **argv)
{
	unsigned long want = PER_LINUX | ADDR_NO_RANDOMIZE | UNAME26;
	struct utsname u;
	int cur;

	test_init(argc, argv);
	if (personality(want) < 0)
		fail("personality");
	if ((unsigned long)personality(0xffffffff) != want)
		fail("setup: personality not set");

	test_daemon();
	test_waitsig();

	cur = personality(0xffffffff);
	if ((unsigned long)cur != want)
		fail("personality %#x, expected %#lx", cur, want);
	if (uname(&u) || strncmp(u.release, "2.6.", 4))
		fail("UNAME26 not in effect: release '%s'", u.release);
	pass();
}
