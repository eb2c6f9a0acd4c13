/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_fd = 2;
static int log_level = LOG_LVL_WARN;
static char log_prefix[32];
static char last_error[512];
static struct timespec log_start;

int log_init(const char *path, int level)
{
	log_level = level;
	clock_gettime(CLOCK_MONOTONIC, &log_start);
	if (path && strcmp(path, "-") != 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd < 0)
			return -errno;
		if (log_fd > 2)
			close(log_fd);
		log_fd = fd;
	}
	return 0;
}

void log_fini(void)
{
	if (log_fd > 2)
		close(log_fd);
	log_fd = 2;
}

int log_move_fd(int minfd)
{
	int fd;

	if (log_fd <= 2)
		return 0;
	fd = fcntl(log_fd, F_DUPFD_CLOEXEC, minfd);
	if (fd < 0)
		return -errno;
	close(log_fd);
	log_fd = fd;
	return fd;
}

void log_set_level(int level) { log_level = level; }
int log_get_level(void) { return log_level; }
const char *log_last_error(void) { return last_error; }
void log_clear_error(void) { last_error[0] = '\0'; }

void log_set_prefix(const char *prefix)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix ? prefix : "");
}

void log_printf(int level, const char *file, int line, const char *fmt, ...)
{
	char buf[1024];
	struct timespec now;
	va_list ap;
	int n = 0, saved = errno;

	if (level > log_level && level != LOG_LVL_ERROR && level != LOG_LVL_MSG) {
		errno = saved;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (log_fd != 2 || log_level >= LOG_LVL_INFO) {
		long ms = (now.tv_sec - log_start.tv_sec) * 1000 +
			  (now.tv_nsec - log_start.tv_nsec) / 1000000;
		n = snprintf(buf, sizeof(buf), "(%ld.%03ld) %s", ms / 1000, ms % 1000, log_prefix);
	}
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n >= (int)sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	if (level == LOG_LVL_ERROR) {
		va_start(ap, fmt);
		vsnprintf(last_error, sizeof(last_error), fmt, ap);
		va_end(ap);
		/* pr_perror appends the errno text through the format itself */
	}
	if (file && log_level >= LOG_LVL_DEBUG)
		n += snprintf(buf + n, sizeof(buf) - n, " (%s:%d)", file, line);
	if (n >= (int)sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (level <= log_level || log_fd != 2)
		(void)!write(log_fd, buf, n);
	errno = saved;
}
