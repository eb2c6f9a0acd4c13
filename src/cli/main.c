/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lxc-cr: checkpoint/restore of process trees from the command line, with
 * CRIU's option names so that scripts written for criu work unchanged.
 */
#include <errno.h>
#include <getopt.h>
#include <libintl.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crcore.h"
#include "log.h"

#define _(s) gettext(s)

static char *atexit_free;

static void free_at_exit(void)
{
	free(atexit_free);
}

enum {
	OPT_LEAVE_RUNNING = 256,
	OPT_SHELL_JOB,
	OPT_TCP_ESTABLISHED,
	OPT_FILE_LOCKS,
	OPT_EXT_UNIX_SK,
	OPT_GHOST_LIMIT,
	OPT_PIDFILE,
	OPT_CGROUP_ROOT,
	OPT_ROOT,
	OPT_EXTERNAL,
	OPT_INHERIT_FD,
};

static void usage(FILE *f)
{
	fprintf(f, "%s",
		_("Usage:\n"
		  "  lxc-cr dump -t PID -D DIR [-o LOG] [-v0..4] [--leave-running] [--shell-job]\n"
		  "              [--tcp-established] [--file-locks] [--ext-unix-sk] [--ghost-limit SIZE]\n"
		  "              [--external tty[RDEV:DEV]]... [--external unix[INO]]...\n"
		  "              [--external mnt[MOUNTPOINT]]...\n"
		  "  lxc-cr restore -D DIR [-d|--restore-detached] [--pidfile FILE] [-o LOG]\n"
		  "              [--shell-job] [--tcp-established] [--file-locks] [--root DIR]\n"
		  "              [--cgroup-root DIR] [--external veth[INSIDE]:OUTSIDE[@BRIDGE]]...\n"
		  "              [--external macvlan[INSIDE]:HOSTDEV]... [--external mnt[MOUNTPOINT]:PATH]...\n"
		  "              [--inherit-fd fd[N]:tty[RDEV:DEV]|pipe:[INO]|PATH]...\n"
		  "  lxc-cr check\n"
		  "  lxc-cr show DIR|FILE\n"));
}

/* "tty[RDEV:DEV]", both hex, nothing else */
static bool valid_tty_key(const char *s)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	size_t a, b;

	if (strncmp(s, "tty[", 4))
		return false;
	s += 4;
	a = strspn(s, hex);
	if (!a || a > 16 || s[a] != ':')
		return false;
	b = strspn(s + a + 1, hex);
	return b && b <= 16 && !strcmp(s + a + 1 + b, "]");
}

/* "unix[INO]", decimal (CRIU's spelling) */
/* "mnt[MOUNTPOINT]" (dump) or "mnt[MOUNTPOINT]:PATH" (restore), both absolute */
static bool valid_mnt_key(const char *s, bool with_path)
{
	const char *end;

	if (strncmp(s, "mnt[/", 5))
		return false;
	end = strstr(s, "]:");
	if (with_path)
		return end && end[2] == '/' && !strstr(end + 2, "]:");
	return !end && s[strlen(s) - 1] == ']';
}

static bool valid_unix_key(const char *s)
{
	size_t n;

	if (strncmp(s, "unix[", 5))
		return false;
	n = strspn(s + 5, "0123456789");
	return n && n <= 20 && !strcmp(s + 5 + n, "]");
}

/* "fd[N]:KEY" */
static int parse_inherit_fd(const char *s, struct crc_inherit_fd *out)
{
	char *end;
	long n;

	if (strncmp(s, "fd[", 3) || s[3] < '0' || s[3] > '9')
		return -1;
	errno = 0;
	n = strtol(s + 3, &end, 10);
	if (errno || n < 0 || n > 1 << 20 || strncmp(end, "]:", 2) || !end[2])
		return -1;
	out->fd = n;
	out->key = end + 2;
	return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	}
	if (*end || end == s)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tree", required_argument, NULL, 't' },
		{ "images-dir", required_argument, NULL, 'D' },
		{ "log-file", required_argument, NULL, 'o' },
		{ "restore-detached", no_argument, NULL, 'd' },
		{ "leave-running", no_argument, NULL, OPT_LEAVE_RUNNING },
		{ "shell-job", no_argument, NULL, OPT_SHELL_JOB },
		{ "tcp-established", no_argument, NULL, OPT_TCP_ESTABLISHED },
		{ "file-locks", no_argument, NULL, OPT_FILE_LOCKS },
		{ "ext-unix-sk", no_argument, NULL, OPT_EXT_UNIX_SK },
		{ "ghost-limit", required_argument, NULL, OPT_GHOST_LIMIT },
		{ "pidfile", required_argument, NULL, OPT_PIDFILE },
		{ "cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "external", required_argument, NULL, OPT_EXTERNAL },
		{ "inherit-fd", required_argument, NULL, OPT_INHERIT_FD },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct crc_dump_opts dopts = { 0 };
	struct crc_restore_opts ropts = { 0 };
	const char *externals[64];
	unsigned nr_externals = 0;
	struct crc_inherit_fd inherit[64];
	struct crc_stats stats = { 0 };
	const char *dir = NULL, *log = NULL, *cmd;
	char *logpath = NULL;
	int level = 2, c, ret;
	bool level_given = false;

	atexit(free_at_exit);
	setlocale(LC_ALL, "");
	bindtextdomain(PACKAGE, LOCALEDIR);
	textdomain(PACKAGE);

	while ((c = getopt_long(argc, argv, "t:D:o:v::dh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			dopts.pid = atoi(optarg);
			if (dopts.pid <= 0) {
				fprintf(stderr, _("lxc-cr: invalid pid '%s'\n"), optarg);
				return 1;
			}
			break;
		case 'D': dir = optarg; break;
		case 'o': log = optarg; break;
		case 'v':
			if (!optarg)
				level++;
			else if (optarg[0] == 'v')	/* -vv, -vvv: one more per v */
				level += 1 + strspn(optarg, "v");
			else
				level = atoi(optarg);
			level_given = true;
			break;
		case 'd': ropts.detach = true; break;
		case OPT_LEAVE_RUNNING: dopts.leave_running = true; break;
		case OPT_SHELL_JOB: dopts.shell_job = ropts.shell_job = true; break;
		case OPT_TCP_ESTABLISHED: dopts.tcp_established = ropts.tcp_established = true; break;
		case OPT_FILE_LOCKS: dopts.file_locks = ropts.file_locks = true; break;
		case OPT_EXT_UNIX_SK: dopts.ext_unix_sk = true; break;
		case OPT_GHOST_LIMIT:
			if (parse_size(optarg, &dopts.ghost_limit) < 0) {
				fprintf(stderr, _("lxc-cr: invalid size '%s'\n"), optarg);
				return 1;
			}
			break;
		case OPT_PIDFILE: ropts.pidfile = optarg; break;
		case OPT_CGROUP_ROOT: ropts.cgroup_root = optarg; break;
		case OPT_ROOT: ropts.root = optarg; break;
		case OPT_EXTERNAL:
			/* which command it is for is known once every option was read */
			if (!((strncmp(optarg, "veth[", 5) == 0 || strncmp(optarg, "macvlan[", 8) == 0) &&
			      strstr(optarg, "]:")) &&
			    !valid_tty_key(optarg) && !valid_unix_key(optarg) &&
			    !valid_mnt_key(optarg, false) && !valid_mnt_key(optarg, true)) {
				fprintf(stderr, _("lxc-cr: --external '%s': expected tty[RDEV:DEV] (dump; hex st_rdev and st_dev), unix[INO] (dump; a unix socket's inode), mnt[MOUNTPOINT] (dump; a mount of a FUSE filesystem served outside the tree), veth[INSIDE]:OUTSIDE[@BRIDGE], macvlan[INSIDE]:HOSTDEV or mnt[MOUNTPOINT]:PATH (restore)\n"),
					optarg);
				return 2;
			}
			if (nr_externals == sizeof(externals) / sizeof(externals[0])) {
				fprintf(stderr, _("lxc-cr: too many --external options\n"));
				return 2;
			}
			externals[nr_externals++] = optarg;
			break;
		case OPT_INHERIT_FD:
			if (ropts.nr_inherit_fds == sizeof(inherit) / sizeof(inherit[0])) {
				fprintf(stderr, _("lxc-cr: too many --inherit-fd options\n"));
				return 2;
			}
			if (parse_inherit_fd(optarg, &inherit[ropts.nr_inherit_fds]) < 0) {
				fprintf(stderr, _("lxc-cr: --inherit-fd '%s': expected fd[N]:KEY, KEY being tty[RDEV:DEV], pipe:[INO] or a path\n"),
					optarg);
				return 2;
			}
			ropts.nr_inherit_fds++;
			ropts.inherit_fds = inherit;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	cmd = argv[optind];
	/* with a log file, the default detail is CRIU's -v2 plus what we report (info) */
	if (log && !level_given)
		level = 3;
	if (log && log[0] != '/' && dir) {
		if (asprintf(&logpath, "%s/%s", dir, log) < 0)
			return 1;
		log = logpath;
		atexit_free = logpath;
	}
	if (crc_log_init(log, level) < 0) {
		fprintf(stderr, _("lxc-cr: cannot open log file '%s'\n"), log);
		return 1;
	}

	if (!strcmp(cmd, "dump")) {
		if (!dopts.pid || !dir) {
			fprintf(stderr, "%s", _("lxc-cr: dump needs -t PID and -D DIR\n"));
			return 1;
		}
		for (unsigned i = 0; i < nr_externals; i++) {
			if (!valid_tty_key(externals[i]) && !valid_unix_key(externals[i]) &&
			    !valid_mnt_key(externals[i], false)) {
				fprintf(stderr, _("lxc-cr: --external '%s' is for restore; dump takes tty[RDEV:DEV], unix[INO] and mnt[MOUNTPOINT]\n"),
					externals[i]);
				return 2;
			}
		}
		if (ropts.nr_inherit_fds) {
			fprintf(stderr, "%s", _("lxc-cr: --inherit-fd is for restore\n"));
			return 2;
		}
		dopts.externals = externals;
		dopts.nr_externals = nr_externals;
		dopts.images_dir = dir;
		ret = crc_dump(&dopts, &stats);
		if (ret < 0) {
			fprintf(stderr, _("lxc-cr: dump of %d failed: %s\n"), dopts.pid, crc_last_error());
			return 1;
		}
		return 0;
	}
	if (!strcmp(cmd, "restore")) {
		pid_t root = 0;

		if (!dir) {
			fprintf(stderr, "%s", _("lxc-cr: restore needs -D DIR\n"));
			return 1;
		}
		for (unsigned i = 0; i < nr_externals; i++) {
			if (valid_tty_key(externals[i])) {
				fprintf(stderr, _("lxc-cr: --external '%s' is for dump; at restore hand the terminal in with --inherit-fd fd[N]:%s\n"),
					externals[i], externals[i]);
				return 2;
			}
			if (valid_unix_key(externals[i])) {
				fprintf(stderr, _("lxc-cr: --external '%s' is for dump; the socket is restored disconnected without it\n"),
					externals[i]);
				return 2;
			}
			if (valid_mnt_key(externals[i], false)) {
				fprintf(stderr, _("lxc-cr: --external '%s' is for dump; at restore give the mount's source: --external %.*s:PATH\n"),
					externals[i], (int)strlen(externals[i]), externals[i]);
				return 2;
			}
		}
		ropts.externals = externals;
		ropts.nr_externals = nr_externals;
		ropts.images_dir = dir;
		ret = crc_restore(&ropts, &root, &stats);
		if (ret < 0) {
			fprintf(stderr, _("lxc-cr: restore from %s failed: %s\n"), dir, crc_last_error());
			return 1;
		}
		return ropts.detach ? 0 : ret;
	}
	if (!strcmp(cmd, "check")) {
		if (!log)
			crc_log_init(NULL, level < 2 ? 2 : level);
		ret = crc_check();
		if (ret) {
			fprintf(stderr, _("lxc-cr: %d kernel features are missing\n"), ret);
			return 1;
		}
		printf("%s", _("Looks good.\n"));
		return 0;
	}
	if (!strcmp(cmd, "show")) {
		const char *what = optind + 1 < argc ? argv[optind + 1] : dir;

		if (!what) {
			fprintf(stderr, "%s", _("lxc-cr: show needs DIR or FILE\n"));
			return 1;
		}
		ret = crc_show(what, 1);
		if (ret < 0) {
			fprintf(stderr, _("lxc-cr: cannot show %s: %s\n"), what, crc_last_error());
			return 1;
		}
		return 0;
	}
	fprintf(stderr, _("lxc-cr: unknown command '%s'\n"), cmd);
	usage(stderr);
	return 1;
}
