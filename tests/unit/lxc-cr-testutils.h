/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TAP helpers of liblxccr's unit tests: CHECK() prints "ok N - ..." or
 * "not ok N - ...", and the last liblxccr error can be matched.
 */
#ifndef LXC_CR_TESTUTILS_H
#define LXC_CR_TESTUTILS_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

static int nrTests;
static int nrFailed;

static void G_GNUC_PRINTF(2, 3)
checkResult(int cond, const char *fmt, ...)
{
    va_list ap;

    nrTests++;
    printf("%s %d - ", cond ? "ok" : "not ok", nrTests);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (!cond)
        nrFailed++;
}

/* cond is evaluated before the message's arguments (which may read the last error). */
#define CHECK(cond, ...) \
    do { \
        int checkCond_ = (cond); \
        checkResult(checkCond_, __VA_ARGS__); \
    } while (0)

static G_GNUC_UNUSED const char *
lastMessage(void)
{
    const lxcCRError *err = lxcCRGetLastError();

    return err->message ? err->message : "(no error)";
}

/* The last error has this code and its message holds every string given. */
static G_GNUC_UNUSED int
errorIs(lxcCRErrorCode code, ...)
{
    const lxcCRError *err = lxcCRGetLastError();
    const char *needle;
    va_list ap;
    int ok = err->code == code && err->message;

    va_start(ap, code);
    while ((needle = va_arg(ap, const char *)))
        ok = ok && strstr(err->message, needle);
    va_end(ap);
    return ok;
}

#endif /* LXC_CR_TESTUTILS_H */
