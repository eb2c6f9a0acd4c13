/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lxc_cr_internal.h: what liblxccr's own files share (not installed)
 */
#pragma once

#include <glib.h>
#include <libintl.h>
#include <string.h>

#include "lxccr.h"

#define _(str) dgettext(PACKAGE, str)
#define N_(str) str

#define STREQ(a, b) (strcmp(a, b) == 0)

/* Record the calling thread's error (replacing any earlier one). */
void lxcCRReportErrorFull(lxcCRErrorCode code,
                          int errnum,
                          const char *funcname,
                          size_t linenr,
                          const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);

#define lxcCRReportError(code, ...) \
    lxcCRReportErrorFull(code, 0, __func__, __LINE__, __VA_ARGS__)

/* Like lxcCRReportError(LXC_CR_ERR_SYSTEM, ...) with ": strerror(errnum)" appended. */
#define lxcCRReportSystemError(errnum, ...) \
    lxcCRReportErrorFull(LXC_CR_ERR_SYSTEM, errnum, __func__, __LINE__, __VA_ARGS__)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(lxcCRDomain, lxcCRDomainFree);

/* The <domain> of a status document (path names it in errors), serialized. */
char *lxcCRStatusDomainXML(const char *xml, const char *path);

/* The status document with its first pty console on consoleTTY (tty and
 * source path) and, when reason is not NULL, <domstatus state='running'
 * reason=...>. */
char *lxcCRStatusRewrite(const char *xml, const char *path,
                         const char *consoleTTY, const char *reason);

/* Refuse an edited XML (for restore --xml, save-image-define) that changes
 * what the saved tree depends on (name, uuid, memory, init, root, interfaces
 * but their bridge), naming the field; path names the save file. */
int lxcCRDomainCheckEdit(const lxcCRDomain *saved, const lxcCRDomain *edited,
                         const char *path);

/* The status document with the title, description and interface bridges
 * (by MAC) of the domain XML editedXml. */
char *lxcCRStatusApplyEdit(const char *xml, const char *path, const char *editedXml);

/* Read a whole status file (a few KiB). */
char *lxcCRStatusReadFile(const char *path);
