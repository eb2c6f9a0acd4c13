/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
