// SPDX-License-Identifier: LGPL-2.1-or-later
/* uts00: host and domain name set inside the tree's own UTS namespace stay. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "zdtmtst.h"

#define HOST "zdtm-uts00.host"
#define DOMAIN "zdtm-uts00.domain"

int main(int argc, char **argv)
{
	struct utsname u;

	test_init(argc, argv);
	if (getpid() != 1)
		skip("needs namespaces of its own (run.sh --ns)");
	if (sethostname(HOST, strlen(HOST)) < 0 || setdomainname(DOMAIN, strlen(DOMAIN)) < 0)
		fail("cannot set the names");
	test_daemon();
	test_waitsig();
	if (uname(&u) < 0)
		fail("uname");
	if (strcmp(u.nodename, HOST))
		fail("host name is '%s', expected '%s'", u.nodename, HOST);
	if (strcmp(u.domainname, DOMAIN))
		fail("domain name is '%s', expected '%s'", u.domainname, DOMAIN);
	pass();
}
