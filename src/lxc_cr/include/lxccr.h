/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lxccr.h: liblxccr, checkpoint/restore of libvirt LXC domains
 *
 * The only header libvirt's LXC driver (through the patch series in
 * src/lxc_cr/libvirt/) includes. liblxccr knows libvirt's domain and status
 * XML and nothing about ptrace; the engine (libcrcore) does the rest.
 *
 * Errors: a call that fails returns -1 (or NULL) and leaves one error,
 * per thread, in lxcCRGetLastError(): a code the driver maps to a
 * virErrorNumber and a translated message naming the object and the cause.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LXC_CR_API_VERSION 1

/* The version of liblxccr that is running (LXC_CR_API_VERSION it was built with). */
int lxcCRGetAPIVersion(void);


/* -------------------------------------------------------------- errors */

typedef enum {
    LXC_CR_ERR_NONE = 0,
    LXC_CR_ERR_INTERNAL,                /* VIR_ERR_INTERNAL_ERROR */
    LXC_CR_ERR_SYSTEM,                  /* VIR_ERR_SYSTEM_ERROR; errnum is set */
    LXC_CR_ERR_XML,                     /* VIR_ERR_XML_ERROR */
    LXC_CR_ERR_INVALID_ARG,             /* VIR_ERR_INVALID_ARG */
    LXC_CR_ERR_OPERATION_INVALID,       /* VIR_ERR_OPERATION_INVALID */
    LXC_CR_ERR_OPERATION_FAILED,        /* VIR_ERR_OPERATION_FAILED */
    LXC_CR_ERR_OPERATION_UNSUPPORTED,   /* VIR_ERR_OPERATION_UNSUPPORTED */
    LXC_CR_ERR_OPERATION_ABORTED,       /* VIR_ERR_OPERATION_ABORTED */

    LXC_CR_ERR_LAST
} lxcCRErrorCode;

typedef struct _lxcCRError lxcCRError;
struct _lxcCRError {
    lxcCRErrorCode code;
    int errnum;         /* errno for LXC_CR_ERR_SYSTEM, else 0 */
    char *message;      /* translated, complete; NULL when code is NONE */
};

/* The calling thread's last error; never NULL (code NONE when there is none). */
const lxcCRError *lxcCRGetLastError(void);
void lxcCRResetLastError(void);


/* -------------------------------------------------------------- domains */

typedef struct _lxcCRNet lxcCRNet;
struct _lxcCRNet {
    char *type;         /* <interface type=...>: "bridge", "network", "ethernet", "direct" */
    char *bridge;       /* <source bridge=...> (type bridge), or <actual>'s (network), else NULL */
    char *network;      /* <source network=...> (type network), else NULL */
    char *mac;          /* <mac address=...> */
    char *hostVeth;     /* <target dev=...>: the host end (status file only) */
    char *guestDev;     /* <guest dev=...>: its name inside (status file only) */
};

typedef struct _lxcCRDomain lxcCRDomain;
struct _lxcCRDomain {
    char *name;
    char *uuid;
    char *init;                 /* <os><init> */
    size_t ninitargs;
    char **initargs;            /* <os><initarg>... */
    char *emulator;             /* <devices><emulator>: the libvirt_lxc controller */
    char *rootfs;               /* source dir of the <filesystem> whose target is "/" */
    unsigned long long memoryKiB;   /* <memory>, in KiB */
    size_t nnets;
    lxcCRNet *nets;
    char *consoleTTY;           /* first <console tty=...> (status file only), host pty */

    /* From <domstatus> only: 0 / NULL when parsed from a plain domain XML. */
    char *state;                /* "running", "paused", ... */
    char *reason;
    pid_t controllerPid;        /* <domstatus pid=...>: libvirt_lxc */
    pid_t initPid;              /* <init pid=...>: the container's init, host PID */

    size_t nhostdevs;           /* <devices><hostdev>: devices passed through */
};

/* NAME's status file in the LXC driver's state dir (/run/libvirt/lxc/NAME.xml). */
char *lxcCRStatusPath(const char *stateDir, const char *name);

/* Parse a status file (<domstatus> with its <domain>). */
lxcCRDomain *lxcCRStatusParseFile(const char *path);
/* Parse a status document; path names it in errors. */
lxcCRDomain *lxcCRStatusParseString(const char *xml, const char *path);
/* Parse a domain XML (<domain type='lxc'>), as in a save image or from virsh dumpxml. */
lxcCRDomain *lxcCRDomainParseString(const char *xml, const char *what);

void lxcCRDomainFree(lxcCRDomain *def);


/* -------------------------------------------------------------- save/restore */

/* Same values as libvirt's virDomainSaveRestoreFlags (the driver asserts it). */
typedef enum {
    LXC_CR_SAVE_BYPASS_CACHE = 1 << 0,
    LXC_CR_SAVE_RUNNING = 1 << 1,
    LXC_CR_SAVE_PAUSED = 1 << 2,
} lxcCRSaveFlags;

/*
 * Save the running domain NAME (its status file is in stateDir) to path:
 * controller and container frozen together, dumped, the domain XML (dxml if
 * given, else the live one) in the save file's header. On success the domain
 * is gone; on failure it still runs and there is no file at path.
 */
int lxcCRDomainSave(const char *stateDir, const char *name, const char *path,
                    const char *dxml, unsigned int flags);

/*
 * The same in two steps, for a driver that shows the save as a job and lets
 * it be cancelled: lxcCRDomainSaveBegin() returns once the save file is
 * complete, the domain frozen (the driver may unlock the domain meanwhile);
 * lxcCRDomainSaveFinish(commit) then lets the engine stop the domain, or,
 * without commit (or once cancelled), lets it run on and removes the file.
 * A job freed between the two does what finish without commit does.
 */
typedef struct _lxcCRJob lxcCRJob;
lxcCRJob *lxcCRJobNew(void);
void lxcCRJobFree(lxcCRJob *job);
/* Any thread: the save stops at its next write, the domain goes on running. */
void lxcCRJobCancel(lxcCRJob *job);
/* Any thread: time since the job began, bytes of the save file (total is 0
 * until the dump is complete) and bytes written. */
void lxcCRJobGetProgress(lxcCRJob *job, unsigned long long *elapsedMs,
                         unsigned long long *total, unsigned long long *processed);
int lxcCRDomainSaveBegin(const char *stateDir, const char *name, const char *path,
                         const char *dxml, unsigned int flags, lxcCRJob *job);
int lxcCRDomainSaveFinish(lxcCRJob *job, bool commit);

/* The domain XML held in the save file at path; NULL with an error naming the file. */
char *lxcCRSaveImageGetXMLDesc(const char *path, unsigned int flags);

/*
 * Replace the domain XML of the save file at path with dxml (the file is
 * written again under a temporary name and renamed); flags RUNNING or PAUSED
 * change the state the domain is restored in. Only what the saved tree does
 * not depend on may change: an interface's bridge, the description, the
 * title; anything else is refused naming the field.
 */
int lxcCRSaveImageDefineXML(const char *path, const char *dxml, unsigned int flags);

/*
 * Rebuild the domain saved at path (dxml: an edited XML to use instead, with
 * the same limits as lxcCRSaveImageDefineXML()). On success its status file is in stateDir (console on a
 * new host pty, reason "restored"), *controllerPid is the restored
 * controller's PID, which the driver adopts as after a daemon restart, and
 * *paused tells whether the driver should leave it paused (flags, else as
 * saved). On failure nothing is left: no process, status or pid file.
 */
int lxcCRDomainRestore(const char *stateDir, const char *path, const char *dxml,
                       unsigned int flags, pid_t *controllerPid, bool *paused);

#ifdef __cplusplus
}
#endif
