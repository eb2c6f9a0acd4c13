/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"

int fault_inject(const char *point)
{
	const char *want = getenv("LXC_CR_FAULT");

	if (!want || strcmp(want, point))
		return 0;
	pr_err("fault injected at '%s' (LXC_CR_FAULT)", point);
	return -EIO;
}

void fault_stall(const char *point)
{
	const char *want = getenv("LXC_CR_FAULT"), *secs = getenv("LXC_CR_FAULT_SECONDS");
	unsigned n = secs ? (unsigned)strtoul(secs, NULL, 10) : 3;

	if (!want || strcmp(want, point))
		return;
	pr_info("fault stall at '%s' (LXC_CR_FAULT): %u s", point, n);
	sleep(n);
}
