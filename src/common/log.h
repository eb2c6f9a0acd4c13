/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Logging for the engine and the CLI: one log per operation. */
#ifndef CR_COMMON_LOG_H
#define CR_COMMON_LOG_H

#include <errno.h>
#include <stdarg.h>

enum {
	LOG_LVL_MSG = 0,	/* always: the one line the user must see */
	LOG_LVL_ERROR = 1,
	LOG_LVL_WARN = 2,
	LOG_LVL_INFO = 3,
	LOG_LVL_DEBUG = 4,
};

int log_init(const char *path, int level);
void log_fini(void);
/* Move the log descriptor to the lowest free number >= minfd; returns it, 0 if none. */
int log_move_fd(int minfd);
void log_set_level(int level);
int log_get_level(void);
void log_set_prefix(const char *prefix);
/* The last error line, for callers that report one line to the user. */
const char *log_last_error(void);
void log_clear_error(void);

void log_printf(int level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define pr_msg(fmt, ...)   log_printf(LOG_LVL_MSG, NULL, 0, fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...)   log_printf(LOG_LVL_ERROR, __FILE__, __LINE__, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)  log_printf(LOG_LVL_WARN, __FILE__, __LINE__, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)  log_printf(LOG_LVL_INFO, NULL, 0, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) log_printf(LOG_LVL_DEBUG, NULL, 0, fmt, ##__VA_ARGS__)
/* Log with strerror(errno) appended; keeps errno. */
#define pr_perror(fmt, ...)                                                        \
	({                                                                         \
		int __e = errno;                                                   \
		log_printf(LOG_LVL_ERROR, __FILE__, __LINE__, fmt ": %s",          \
			   ##__VA_ARGS__, strerror(__e));                          \
		errno = __e;                                                       \
	})

#endif
