// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * flock() locks: LOCK_EX on one file, LOCK_SH on another. After C/R
 * (--file-locks) the locks are still held by the same open files: another
 * process's LOCK_EX|LOCK_NB fails on both, its LOCK_SH|LOCK_NB succeeds on
 * the shared one, and once the test unlocks, the other process gets it.
 */
#include <sys/file.h>
#include "fdutil.h"

#define EXF "flock00.ex"
#define SHF "flock00.sh"

/* run fn in a fresh process; returns its exit code */
static int in_child(int (*fn)(void))
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		fail("fork");
	if (pid == 0)
		_exit(fn());
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		fail("child died");
	return WEXITSTATUS(st);
}

static int try_lock(const char *path, int op)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 100;
	if (flock(fd, op | LOCK_NB) == 0)
		return 0;
	return errno == EWOULDBLOCK ? 1 : 101;
}

static int ex_on_ex_fn(void) { return try_lock(EXF, LOCK_EX); }
static int sh_on_ex_fn(void) { return try_lock(EXF, LOCK_SH); }
static int ex_on_sh_fn(void) { return try_lock(SHF, LOCK_EX); }
static int sh_on_sh_fn(void) { return try_lock(SHF, LOCK_SH); }

/* 0: another process got the lock (and dropped it on exit), 1: EWOULDBLOCK */
static int ex_on_ex(void) { return in_child(ex_on_ex_fn); }
static int sh_on_ex(void) { return in_child(sh_on_ex_fn); }
static int ex_on_sh(void) { return in_child(ex_on_sh_fn); }
static int sh_on_sh(void) { return in_child(sh_on_sh_fn); }

static int count_flocks(int fd)
{
	char path[64], line[256];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		fail("fdinfo");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "lock:", 5) && strstr(line, "FLOCK"))
			n++;
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	int ex, sh, ex_dup;

	test_init(argc, argv);
	ex = open(EXF, O_RDWR | O_CREAT, 0600);
	sh = open(SHF, O_RDWR | O_CREAT, 0600);
	if (ex < 0 || sh < 0)
		fail("open");
	if (flock(ex, LOCK_EX) || flock(sh, LOCK_SH))
		fail("flock");
	ex_dup = dup(ex);
	if (ex_on_ex() != 1 || ex_on_sh() != 1 || sh_on_sh() != 0)
		fail("locks do not work before C/R");

	test_daemon();
	test_waitsig();

	CHECK(count_flocks(ex) == 1 && count_flocks(sh) == 1, "fdinfo shows %d/%d flock locks",
	      count_flocks(ex), count_flocks(sh));
	if (ex_on_ex() != 1)
		fail("LOCK_EX is gone: another process could take it");
	if (sh_on_ex() != 1)
		fail("LOCK_EX is gone: another process could share it");
	if (ex_on_sh() != 1)
		fail("LOCK_SH is gone: another process could lock it exclusively");
	if (sh_on_sh() != 0)
		fail("LOCK_SH became exclusive");
	/* the lock belongs to the open file: the dup can convert it */
	if (flock(ex_dup, LOCK_SH | LOCK_NB))
		fail("cannot convert our own lock through a dup");
	if (sh_on_ex() != 0)
		fail("converted lock still exclusive");
	if (flock(ex, LOCK_UN) || flock(sh, LOCK_UN))
		fail("unlock");
	if (ex_on_ex() != 0 || ex_on_sh() != 0)
		fail("locks still held after LOCK_UN");
	pass();
}
