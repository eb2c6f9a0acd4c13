/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lxc_cr_error.c: liblxccr's per-thread last error
 *
 * libvirt's driver turns it into virReportError() with the matching
 * virErrorNumber; messages are translated in the "lxc-cr" text domain,
 * which liblxccr binds itself (libvirtd knows nothing of it).
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "lxc_cr_internal.h"

static __thread lxcCRError lxcCRLastError;


/* Before any _() of ours is evaluated, in libvirtd as in a test. */
static void __attribute__((constructor))
lxcCRBindTextDomain(void)
{
    bindtextdomain(PACKAGE, LOCALEDIR);
    bind_textdomain_codeset(PACKAGE, "UTF-8");
}


int
lxcCRGetAPIVersion(void)
{
    return LXC_CR_API_VERSION;
}


const lxcCRError *
lxcCRGetLastError(void)
{
    return &lxcCRLastError;
}


void
lxcCRResetLastError(void)
{
    g_clear_pointer(&lxcCRLastError.message, g_free);
    lxcCRLastError.code = LXC_CR_ERR_NONE;
    lxcCRLastError.errnum = 0;
}


void
lxcCRReportErrorFull(lxcCRErrorCode code,
                     int errnum,
                     const char *funcname,
                     size_t linenr,
                     const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;
    int save_errno = errno;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    lxcCRResetLastError();
    lxcCRLastError.code = code;
    lxcCRLastError.errnum = errnum;
    if (errnum)
        lxcCRLastError.message = g_strdup_printf("%s: %s", msg, g_strerror(errnum));
    else
        lxcCRLastError.message = g_steal_pointer(&msg);

    if (g_getenv("LXC_CR_DEBUG"))
        g_printerr("liblxccr: %s:%zu: %s\n", funcname, linenr, lxcCRLastError.message);

    errno = save_errno;
}
