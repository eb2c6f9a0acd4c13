/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lxc_cr_save.c: save and restore of a whole LXC domain, controller included
 *
 * What the LXC driver's domainSave*, domainRestore* and save-image calls reach.
 * This first slice checks the request against the domain's status file and
 * the save file, then refuses with the reason: the dump of the controller and
 * its container through libcrcore, and the save file format, come next
 * (issue 4). Nothing is created at the save path, nothing is stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lxc_cr_saveimage.h"

#define LXC_CR_SAVE_FLAGS \
    (LXC_CR_SAVE_BYPASS_CACHE | LXC_CR_SAVE_RUNNING | LXC_CR_SAVE_PAUSED)


typedef enum {
    LXC_CR_FLAGS_OK = 0,
    LXC_CR_FLAGS_UNKNOWN,
    LXC_CR_FLAGS_RUNNING_AND_PAUSED,
} lxcCRFlagsCheck;

static lxcCRFlagsCheck
lxcCRCheckSaveFlags(unsigned int flags)
{
    if (flags & ~LXC_CR_SAVE_FLAGS)
        return LXC_CR_FLAGS_UNKNOWN;
    if ((flags & LXC_CR_SAVE_RUNNING) && (flags & LXC_CR_SAVE_PAUSED))
        return LXC_CR_FLAGS_RUNNING_AND_PAUSED;
    return LXC_CR_FLAGS_OK;
}


/* Is pid alive (not a zombie)? */
static bool
lxcCRProcessAlive(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *stat = NULL;
    const char *p;

    if (!g_file_get_contents(path, &stat, NULL, NULL))
        return false;
    /* "PID (COMM) S ...": COMM may hold anything, the state follows its last ')' */
    if (!(p = strrchr(stat, ')')) || p[1] != ' ')
        return false;
    return p[2] != 'Z' && p[2] != 'X';
}


int
lxcCRDomainSave(const char *stateDir,
                const char *name,
                const char *path,
                const char *dxml,
                unsigned int flags)
{
    g_autofree char *statusPath = NULL;
    g_autoptr(lxcCRDomain) def = NULL;
    g_autoptr(lxcCRDomain) newdef = NULL;

    lxcCRResetLastError();
    if (!stateDir || !name || !path) {
        lxcCRReportError(LXC_CR_ERR_INVALID_ARG,
                         _("cannot save domain '%s': no state dir or save path given"),
                         name ? name : "");
        return -1;
    }
    switch (lxcCRCheckSaveFlags(flags)) {
    case LXC_CR_FLAGS_UNKNOWN:
        lxcCRReportError(LXC_CR_ERR_INVALID_ARG,
                         _("cannot save domain '%s': unsupported flags 0x%x"),
                         name, flags & ~LXC_CR_SAVE_FLAGS);
        return -1;
    case LXC_CR_FLAGS_RUNNING_AND_PAUSED:
        lxcCRReportError(LXC_CR_ERR_INVALID_ARG,
                         _("cannot save domain '%s': 'running' and 'paused' are mutually exclusive"),
                         name);
        return -1;
    case LXC_CR_FLAGS_OK:
        break;
    }

    statusPath = lxcCRStatusPath(stateDir, name);
    if (!(def = lxcCRStatusParseFile(statusPath)))
        return -1;
    if (!STREQ(def->name, name)) {
        lxcCRReportError(LXC_CR_ERR_INTERNAL,
                         _("cannot save domain '%s': its status file '%s' describes domain '%s'"),
                         name, statusPath, def->name);
        return -1;
    }
    if (!STREQ(def->state, "running") && !STREQ(def->state, "paused")) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                         _("cannot save domain '%s': it is '%s', not running or paused"),
                         name, def->state);
        return -1;
    }
    if (!def->initPid) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                         _("cannot save domain '%s': its status file '%s' has no init pid yet"),
                         name, statusPath);
        return -1;
    }
    if (!lxcCRProcessAlive(def->controllerPid)) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_FAILED,
                         _("cannot save domain '%s': its controller (pid %d) is not running"),
                         name, (int)def->controllerPid);
        return -1;
    }
    if (!lxcCRProcessAlive(def->initPid)) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_FAILED,
                         _("cannot save domain '%s': its init (pid %d) is not running"),
                         name, (int)def->initPid);
        return -1;
    }
    if (dxml) {
        if (!(newdef = lxcCRDomainParseString(dxml, _("the XML given to save"))))
            return -1;
        if (!STREQ(newdef->name, def->name)) {
            lxcCRReportError(LXC_CR_ERR_INVALID_ARG,
                             _("cannot save domain '%s': the XML given is for domain '%s'"),
                             name, newdef->name);
            return -1;
        }
    }

    lxcCRReportError(LXC_CR_ERR_OPERATION_UNSUPPORTED,
                     _("cannot save domain '%s': checkpointing its controller (pid %d) "
                       "and container (init pid %d) is not implemented yet"),
                     name, (int)def->controllerPid, (int)def->initPid);
    return -1;
}


char *
lxcCRSaveImageGetXMLDesc(const char *path,
                         unsigned int flags)
{
    g_autoptr(lxcCRSaveImage) img = NULL;

    lxcCRResetLastError();
    if (!path) {
        lxcCRReportError(LXC_CR_ERR_INVALID_ARG, _("no save file given"));
        return NULL;
    }
    if (flags) {
        lxcCRReportError(LXC_CR_ERR_INVALID_ARG,
                         _("save file '%s': unsupported flags 0x%x"), path, flags);
        return NULL;
    }
    if (!(img = lxcCRSaveImageOpen(path)))
        return NULL;
    return g_steal_pointer(&img->xml);
}


int
lxcCRDomainRestore(const char *stateDir,
                   const char *path,
                   const char *dxml,
                   unsigned int flags,
                   pid_t *controllerPid)
{
    g_autoptr(lxcCRSaveImage) img = NULL;
    g_autoptr(lxcCRDomain) saved = NULL;
    g_autoptr(lxcCRDomain) def = NULL;

    lxcCRResetLastError();
    if (controllerPid)
        *controllerPid = 0;
    if (!stateDir || !path) {
        lxcCRReportError(LXC_CR_ERR_INVALID_ARG,
                         _("cannot restore a domain: no state dir or save file given"));
        return -1;
    }
    switch (lxcCRCheckSaveFlags(flags)) {
    case LXC_CR_FLAGS_UNKNOWN:
        lxcCRReportError(LXC_CR_ERR_INVALID_ARG,
                         _("cannot restore a domain from '%s': unsupported flags 0x%x"),
                         path, flags & ~LXC_CR_SAVE_FLAGS);
        return -1;
    case LXC_CR_FLAGS_RUNNING_AND_PAUSED:
        lxcCRReportError(LXC_CR_ERR_INVALID_ARG,
                         _("cannot restore a domain from '%s': 'running' and 'paused' are mutually exclusive"),
                         path);
        return -1;
    case LXC_CR_FLAGS_OK:
        break;
    }

    /* Everything is checked before anything is created. */
    if (!(img = lxcCRSaveImageOpen(path)))
        return -1;
    if (!(saved = lxcCRDomainParseString(img->xml, path)))
        return -1;
    if (dxml) {
        if (!(def = lxcCRDomainParseString(dxml, _("the XML given to restore"))))
            return -1;
        if (!STREQ(def->name, saved->name)) {
            lxcCRReportError(LXC_CR_ERR_INVALID_ARG,
                             _("cannot restore domain '%s' from '%s': the XML given is for domain '%s'"),
                             saved->name, path, def->name);
            return -1;
        }
    }
    lxcCRReportError(LXC_CR_ERR_OPERATION_UNSUPPORTED,
                     _("cannot restore domain '%s' from '%s': restoring its controller and container is not implemented yet"),
                     saved->name, path);
    return -1;
}
