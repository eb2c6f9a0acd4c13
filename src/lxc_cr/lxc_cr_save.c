/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lxc_cr_save.c: save and restore of a whole LXC domain, controller included
 *
 * What the LXC driver's domainSave*, domainRestore* and save-image calls reach.
 *
 * Save: everything that can be checked is checked from the status file before
 * the domain is touched (running, its interfaces, its console pty, the
 * engine); then `lxc-cr dump` checkpoints the tree rooted at the controller
 * into a work dir beside the save file. The engine keeps the tree frozen once
 * the images are synced and waits on --post-dump-fd: liblxccr writes the save
 * file (header, domain XML, the images and its own records) to a temporary
 * name, fsyncs and renames it, and only then lets the engine kill the tree.
 * If anything fails, the engine resumes the tree: the domain goes on running
 * and there is no file at the save path.
 *
 * Restore: the whole save file is checked first; then the images are unpacked
 * into a work dir, a new host pty pair replaces the console the controller
 * held, and `lxc-cr restore` rebuilds controller and container (the console
 * master handed in with --inherit-fd, the veths re-created on their
 * bridges). The status file is written with the new console tty; the driver
 * then adopts the controller as after a daemon restart. If anything fails,
 * nothing is left: no process, no status or pid file, no work dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lxc_cr_engine.h"
#include "lxc_cr_saveimage.h"

#define LXC_CR_SAVE_FLAGS \
    (LXC_CR_SAVE_BYPASS_CACHE | LXC_CR_SAVE_RUNNING | LXC_CR_SAVE_PAUSED)

/* liblxccr's own records in a save file's image set, beside the engine's. */
#define LXC_CR_META_RECORD "liblxccr-meta"
#define LXC_CR_STATUS_RECORD "liblxccr-status.xml"
#define LXC_CR_META_GROUP "domain"
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


static int
lxcCRRemoveOne(const char *path,
               const struct stat *sb G_GNUC_UNUSED,
               int type G_GNUC_UNUSED,
               struct FTW *ftw G_GNUC_UNUSED)
{
    remove(path);
    return 0;
}


/* Remove dir and everything in it (a work dir of ours; symlinks not followed). */
static void
lxcCRRemoveTree(const char *dir)
{
    if (dir)
        nftw(dir, lxcCRRemoveOne, 16, FTW_DEPTH | FTW_PHYS);
}


/* A work dir beside path (the save file), else in /var/tmp. */
static char *
lxcCRMakeWorkDir(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmpl = g_strdup_printf("%s/.%s.lxc-cr.XXXXXX", dir, base);
    int err;

    if (g_mkdtemp_full(tmpl, 0700))
        return g_steal_pointer(&tmpl);
    err = errno;
    g_free(tmpl);
    tmpl = g_strdup_printf("/var/tmp/.%s.lxc-cr.XXXXXX", base);
    if (g_mkdtemp_full(tmpl, 0700))
        return g_steal_pointer(&tmpl);
    lxcCRReportSystemError(err, _("cannot create a work directory beside '%s'"), path);
    return NULL;
}


/* "tty[RDEV:DEV]" of the terminal at path, the engine's key for it. */
static char *
lxcCRTTYKey(const char *path)
{
    struct stat sb;

    if (stat(path, &sb) < 0 || !S_ISCHR(sb.st_mode))
        return NULL;
    return g_strdup_printf("tty[%llx:%llx]",
                           (unsigned long long)sb.st_rdev, (unsigned long long)sb.st_dev);
}


/* Write data to dir/name, 0600, synced. */
static int
lxcCRWriteRecord(const char *dir,
                 const char *name,
                 const char *data)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    size_t len = strlen(data);
    size_t done = 0;
    ssize_t n;
    int fd;

    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
        lxcCRReportSystemError(errno, _("cannot create '%s'"), path);
        return -1;
    }
    while (done < len) {
        if ((n = write(fd, data + done, len - done)) < 0) {
            if (errno == EINTR)
                continue;
            lxcCRReportSystemError(errno, _("cannot write '%s'"), path);
            close(fd);
            return -1;
        }
        done += n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        lxcCRReportSystemError(errno, _("cannot write '%s'"), path);
        return -1;
    }
    return 0;
}


/* Read one line (at most len - 1 bytes) from fd; 0 at EOF before a newline.
 * While waiting: once *cancel is set, the engine (pid) has 10 s to get to
 * its post-dump step (the line); then it is sent SIGTERM, and SIGKILL 5 s
 * later, so that a cancelled save never hangs on the engine (*killed). */
static ssize_t
lxcCRReadLine(int fd,
              char *buf,
              size_t len,
              const gint *cancel,
              pid_t pid,
              bool *killed)
{
    gint64 cancelledAt = 0;
    size_t got = 0;
    ssize_t n;

    while (got < len - 1) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int rc = poll(&pfd, 1, 200);

        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc <= 0) {
            gint64 now = g_get_monotonic_time();

            if (!cancel || !g_atomic_int_get(cancel))
                continue;
            if (!cancelledAt)
                cancelledAt = now;
            if (now - cancelledAt > 10 * G_USEC_PER_SEC) {
                kill(pid, now - cancelledAt > 15 * G_USEC_PER_SEC ? SIGKILL : SIGTERM);
                *killed = true;
            }
            continue;
        }
        if ((n = read(fd, buf + got, 1)) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            return 0;
        if (buf[got++] == '\n')
            break;
    }
    buf[got] = '\0';
    return got;
}


/* The freezer.state file of pid's freezer cgroup (v1), or NULL. */
static char *
lxcCRFreezerStatePath(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/cgroup", (int)pid);
    g_autofree char *cg = NULL;
    g_auto(GStrv) lines = NULL;
    size_t i;

    if (!g_file_get_contents(path, &cg, NULL, NULL))
        return NULL;
    lines = g_strsplit(cg, "\n", -1);
    for (i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], ":", 3);
        g_auto(GStrv) ctls = NULL;
        size_t j;

        if (g_strv_length(f) != 3)
            continue;
        ctls = g_strsplit(f[1], ",", -1);
        for (j = 0; ctls[j]; j++) {
            if (STREQ(ctls[j], "freezer"))
                return g_strdup_printf("/sys/fs/cgroup/%s%s/freezer.state", f[1], f[2]);
        }
    }
    return NULL;
}


/* Write state ("FROZEN", "THAWED") to the freezer and wait (1 s) until it is so. */
static int
lxcCRFreezerSet(const char *statePath,
                const char *state)
{
    int i;
    int fd;

    if ((fd = open(statePath, O_WRONLY | O_CLOEXEC)) < 0)
        return -1;
    if (write(fd, state, strlen(state)) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    for (i = 0; i < 1000; i++) {
        g_autofree char *now = NULL;

        if (g_file_get_contents(statePath, &now, NULL, NULL) && STREQ(g_strstrip(now), state))
            return 0;
        g_usleep(1000);
    }
    errno = ETIMEDOUT;
    return -1;
}


/* What the dump's post-dump step needs to write the save file. */
typedef struct {
    const char *name;
    const char *path;
    const char *xml;            /* the domain XML of the header */
    const char *statusXml;      /* the status file, as saved */
    const char *meta;           /* liblxccr's record */
    const char *imgDir;
    unsigned int flags;
    bool wasRunning;
} lxcCRSaveJob;


/* The images are complete and the tree frozen: write the save file. */
static int
lxcCRSaveJobWrite(lxcCRSaveJob *job,
                  lxcCRSaveProgress *prog)
{
    if (lxcCRWriteRecord(job->imgDir, LXC_CR_META_RECORD, job->meta) < 0 ||
        lxcCRWriteRecord(job->imgDir, LXC_CR_STATUS_RECORD, job->statusXml) < 0)
        return -1;
    return lxcCRSaveImageWriteProgress(job->path, job->xml, job->imgDir, job->wasRunning,
                                       job->flags, prog);
}


/* A save or restore in progress, as the driver's job sees it; between
 * lxcCRDomainSaveBegin() and lxcCRDomainSaveFinish(), the engine waiting
 * with the tree frozen and the save file written. */
struct _lxcCRJob {
    gint64 startUs;
    lxcCRSaveProgress prog;
    pid_t enginePid;            /* 0: no save between begin and finish */
    int sock;                   /* our end of --post-dump-fd */
    char *name;
    char *path;
    char *workDir;
    char *outPath;
    char *logPath;
    pid_t controllerPid;
    char *freezer;              /* a paused domain's freezer.state, thawed for the dump */
};


lxcCRJob *
lxcCRJobNew(void)
{
    lxcCRJob *job = g_new0(lxcCRJob, 1);

    job->startUs = g_get_monotonic_time();
    job->sock = -1;
    return job;
}


static void
lxcCRJobClear(lxcCRJob *job)
{
    if (job->sock >= 0)
        close(job->sock);
    job->sock = -1;
    job->enginePid = 0;
    lxcCRRemoveTree(job->workDir);
    g_clear_pointer(&job->name, g_free);
    g_clear_pointer(&job->path, g_free);
    g_clear_pointer(&job->workDir, g_free);
    g_clear_pointer(&job->outPath, g_free);
    g_clear_pointer(&job->logPath, g_free);
    g_clear_pointer(&job->freezer, g_free);
}


void
lxcCRJobFree(lxcCRJob *job)
{
    if (!job)
        return;
    if (job->enginePid > 0)
        lxcCRDomainSaveFinish(job, false);
    lxcCRJobClear(job);
    g_free(job);
}


void
lxcCRJobCancel(lxcCRJob *job)
{
    if (job)
        g_atomic_int_set(&job->prog.cancel, 1);
}


void
lxcCRJobGetProgress(lxcCRJob *job,
                    unsigned long long *elapsedMs,
                    unsigned long long *total,
                    unsigned long long *processed)
{
    gssize t = job ? (gssize)g_atomic_pointer_get(&job->prog.total) : 0;
    gssize d = job ? (gssize)g_atomic_pointer_get(&job->prog.done) : 0;

    if (elapsedMs)
        *elapsedMs = job ? (g_get_monotonic_time() - job->startUs) / 1000 : 0;
    if (total)
        *total = t > d ? t : d;
    if (processed)
        *processed = d;
}


int
lxcCRDomainSave(const char *stateDir,
                const char *name,
                const char *path,
                const char *dxml,
                unsigned int flags)
{
    lxcCRJob *job = lxcCRJobNew();
    int ret = -1;

    if (lxcCRDomainSaveBegin(stateDir, name, path, dxml, flags, job) == 0)
        ret = lxcCRDomainSaveFinish(job, true);
    lxcCRJobFree(job);
    return ret;
}


int
lxcCRDomainSaveBegin(const char *stateDir,
                     const char *name,
                     const char *path,
                     const char *dxml,
                     unsigned int flags,
                     lxcCRJob *crjob)
{
    g_autofree char *statusPath = NULL;
    g_autofree char *statusXml = NULL;
    g_autofree char *liveXml = NULL;
    g_autoptr(lxcCRDomain) def = NULL;
    g_autoptr(lxcCRDomain) newdef = NULL;
    g_autoptr(GArray) outside = NULL;
    g_autoptr(GPtrArray) argv = NULL;
    g_autoptr(GKeyFile) meta = NULL;
    g_autofree char *metaData = NULL;
    g_autofree char *what = NULL;
    g_autofree char *bin = NULL;
    g_autofree char *ttyKey = NULL;
    g_autofree char *workDir = NULL;
    g_autofree char *imgDir = NULL;
    g_autofree char *outPath = NULL;
    g_autofree char *logPath = NULL;
    g_autofree char *cause = NULL;
    g_autofree char *freezer = NULL;
    g_autofree char *engineFreezer = NULL;
    bool killed = false;
    lxcCRSaveJob job = { 0 };
    char line[64];
    int sv[2] = { -1, -1 };
    pid_t pid = 0;
    int status = 0;
    ssize_t n;
    size_t i;
    int ret = -1;

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

    /* 1. Everything that can be checked, before the domain is touched. */
    statusPath = lxcCRStatusPath(stateDir, name);
    if (!(statusXml = lxcCRStatusReadFile(statusPath)))
        return -1;
    if (!(def = lxcCRStatusParseString(statusXml, statusPath)))
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
    /* A paused domain is frozen in its freezer cgroup, where the engine
     * cannot seize it: it is thawed just before the engine runs (which
     * stops it again at once) and frozen again if the save fails. */
    if (STREQ(def->state, "paused") && !(freezer = lxcCRFreezerStatePath(def->initPid))) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_FAILED,
                         _("cannot save domain '%s': it is paused, and its freezer cgroup is not found"),
                         name);
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
    if (def->nhostdevs) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_UNSUPPORTED,
                         _("cannot save domain '%s': it has %zu host device(s) passed through (<hostdev>), which cannot be checkpointed"),
                         name, def->nhostdevs);
        return -1;
    }
    for (i = 0; i < def->nnets; i++) {
        lxcCRNet *net = &def->nets[i];

        if (!STREQ(net->type, "bridge") && !STREQ(net->type, "network") &&
            !STREQ(net->type, "ethernet")) {
            lxcCRReportError(LXC_CR_ERR_OPERATION_UNSUPPORTED,
                             _("cannot save domain '%s': its interface %zu (MAC %s) is of type '%s'; only veth interfaces (bridge, network, ethernet) can be checkpointed"),
                             name, i, net->mac ? net->mac : "?", net->type);
            return -1;
        }
        if (!net->hostVeth || !net->guestDev) {
            lxcCRReportError(LXC_CR_ERR_OPERATION_FAILED,
                             _("cannot save domain '%s': its status file '%s' does not name both ends of interface %zu (MAC %s)"),
                             name, statusPath, i, net->mac ? net->mac : "?");
            return -1;
        }
    }
    if (!def->consoleTTY) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_UNSUPPORTED,
                         _("cannot save domain '%s': it has no pty console in '%s'"),
                         name, statusPath);
        return -1;
    }
    if (!(ttyKey = lxcCRTTYKey(def->consoleTTY))) {
        lxcCRReportSystemError(errno ? errno : ENOTTY,
                               _("cannot save domain '%s': its console '%s' is not a terminal"),
                               name, def->consoleTTY);
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
        /* what a restore would refuse, refused now */
        if (lxcCRDomainCheckEdit(def, newdef, path) < 0)
            return -1;
    } else if (!(liveXml = lxcCRStatusDomainXML(statusXml, statusPath))) {
        return -1;
    }
    what = g_strdup_printf(_("cannot save domain '%s'"), name);
    if (!(outside = lxcCRControllerOutsideSockets(def->controllerPid, what)))
        return -1;
    if (!(bin = lxcCREngineBinary(what)))
        return -1;

    /* 2. The dump: the engine waits for the save file before the tree dies.
     * The controller's threads first join its cgroups (libvirt moved only its
     * main thread; the engine saves a process's cgroups, not a thread's). */
    lxcCRControllerGatherThreads(def->controllerPid);
    if (!(workDir = lxcCRMakeWorkDir(path)))
        return -1;
    imgDir = g_build_filename(workDir, "img", NULL);
    outPath = g_build_filename(workDir, "lxc-cr.out", NULL);
    logPath = g_strdup_printf("%s/%s.lxc-cr-save.log", stateDir, name);
    if (mkdir(imgDir, 0700) < 0) {
        lxcCRReportSystemError(errno, _("cannot save domain '%s': cannot create '%s'"),
                               name, imgDir);
        goto out;
    }

    meta = g_key_file_new();
    g_key_file_set_string(meta, LXC_CR_META_GROUP, "name", name);
    g_key_file_set_integer(meta, LXC_CR_META_GROUP, "controller-pid", def->controllerPid);
    g_key_file_set_integer(meta, LXC_CR_META_GROUP, "init-pid", def->initPid);
    g_key_file_set_string(meta, LXC_CR_META_GROUP, "console-tty", def->consoleTTY);
    g_key_file_set_string(meta, LXC_CR_META_GROUP, "console-key", ttyKey);
    metaData = g_key_file_to_data(meta, NULL, NULL);

    argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv, g_strdup(bin));
    g_ptr_array_add(argv, g_strdup("dump"));
    g_ptr_array_add(argv, g_strdup("-t"));
    g_ptr_array_add(argv, g_strdup_printf("%d", (int)def->controllerPid));
    g_ptr_array_add(argv, g_strdup("-D"));
    g_ptr_array_add(argv, g_strdup(imgDir));
    g_ptr_array_add(argv, g_strdup("-o"));
    g_ptr_array_add(argv, g_strdup(logPath));
    g_ptr_array_add(argv, g_strdup("-v4"));
    g_ptr_array_add(argv, g_strdup("--shell-job"));
    g_ptr_array_add(argv, g_strdup("--tcp-established"));
    g_ptr_array_add(argv, g_strdup("--file-locks"));
    for (i = 0; i < outside->len; i++) {
        g_ptr_array_add(argv, g_strdup("--external"));
        g_ptr_array_add(argv, g_strdup_printf("unix[%llu]",
                                              g_array_index(outside, unsigned long long, i)));
    }
    g_ptr_array_add(argv, g_strdup("--external"));
    g_ptr_array_add(argv, g_strdup(ttyKey));
    g_ptr_array_add(argv, g_strdup("--post-dump-fd"));
    g_ptr_array_add(argv, g_strdup_printf("%d", LXC_CR_ENGINE_FD));
    g_ptr_array_add(argv, NULL);

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        lxcCRReportSystemError(errno, _("cannot save domain '%s': cannot create a socket pair"),
                               name);
        goto out;
    }
    if (freezer && lxcCRFreezerSet(freezer, "THAWED") < 0) {
        lxcCRReportSystemError(errno, _("cannot save domain '%s': cannot thaw it ('%s')"),
                               name, freezer);
        goto out;
    }
    if (lxcCREngineSpawn((const char *const *)argv->pdata, sv[1], outPath, &pid) < 0)
        goto out;
    close(sv[1]);
    sv[1] = -1;

    job.name = name;
    job.path = path;
    job.xml = dxml ? dxml : liveXml;
    job.statusXml = statusXml;
    job.meta = metaData;
    job.imgDir = imgDir;
    job.flags = flags;
    job.wasRunning = !freezer;

    n = lxcCRReadLine(sv[0], line, sizeof(line), &crjob->prog.cancel, pid, &killed);
    if (n > 0 && STREQ(line, "dumped\n")) {
        g_atomic_pointer_set(&crjob->prog.total,
                             LXC_CR_SAVE_HEADER_SIZE + strlen(job.xml) + lxcCRDirSize(imgDir) +
                             strlen(metaData) + strlen(statusXml) + 64);
        if (lxcCRSaveJobWrite(&job, &crjob->prog) == 0) {
            g_atomic_pointer_set(&crjob->prog.total, g_atomic_pointer_get(&crjob->prog.done));
            /* The tree stays frozen until lxcCRDomainSaveFinish(). */
            crjob->enginePid = pid;
            crjob->sock = sv[0];
            crjob->name = g_strdup(name);
            crjob->path = g_strdup(path);
            crjob->workDir = g_steal_pointer(&workDir);
            crjob->outPath = g_steal_pointer(&outPath);
            crjob->logPath = g_steal_pointer(&logPath);
            crjob->controllerPid = def->controllerPid;
            crjob->freezer = g_steal_pointer(&freezer);
            return 0;
        }
        /* The save file error is the one to report; the engine resumes the tree. */
        if (lxcCRGetLastError()->code == LXC_CR_ERR_OPERATION_ABORTED)
            lxcCRReportError(LXC_CR_ERR_OPERATION_ABORTED,
                             _("cannot save domain '%s': cancelled; the domain goes on running"),
                             name);
        close(sv[0]);
        sv[0] = -1;
        lxcCREngineWait(pid, &status);
        goto out;
    }
    /* Without our 'k' the engine lets the tree go on running. */
    close(sv[0]);
    sv[0] = -1;
    if (lxcCREngineWait(pid, &status) < 0)
        goto out;
    if (killed) {
        /* Killed in the middle, the engine may have left the tree frozen in
         * its freezer cgroup: a running domain must run again. */
        if (!freezer && (engineFreezer = lxcCRFreezerStatePath(def->initPid)))
            lxcCRFreezerSet(engineFreezer, "THAWED");
        lxcCRReportError(LXC_CR_ERR_OPERATION_ABORTED,
                         _("cannot save domain '%s': cancelled; lxc-cr did not stop within 10 s and was killed (log '%s')"),
                         name, logPath);
        goto out;
    }
    cause = lxcCREngineCause(outPath, status);
    if (lxcCRProcessAlive(def->controllerPid))
        lxcCRReportError(LXC_CR_ERR_OPERATION_FAILED,
                         _("cannot save domain '%s': lxc-cr cannot checkpoint its controller (pid %d) and container (init pid %d): %s (log '%s'); the domain goes on running"),
                         name, (int)def->controllerPid, (int)def->initPid, cause, logPath);
    else
        lxcCRReportError(LXC_CR_ERR_OPERATION_FAILED,
                         _("cannot save domain '%s': lxc-cr cannot checkpoint its controller (pid %d) and container (init pid %d): %s (log '%s'); the controller is gone"),
                         name, (int)def->controllerPid, (int)def->initPid, cause, logPath);

 out:
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    /* paused it was, paused it stays */
    if (freezer)
        lxcCRFreezerSet(freezer, "FROZEN");
    lxcCRRemoveTree(workDir);
    return ret;
}


int
lxcCRDomainSaveFinish(lxcCRJob *job,
                      bool commit)
{
    g_autofree char *cause = NULL;
    int status = 0;
    int ret = -1;

    if (!job || job->enginePid <= 0) {
        lxcCRReportError(LXC_CR_ERR_INVALID_ARG, _("no save to finish"));
        return -1;
    }
    if (commit && g_atomic_int_get(&job->prog.cancel)) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_ABORTED,
                         _("cannot save domain '%s': cancelled; the domain goes on running"),
                         job->name);
        commit = false;
    }
    if (commit && send(job->sock, "k", 1, MSG_NOSIGNAL) != 1) {
        /* The engine is gone: its tree was let go, running. */
        lxcCRReportSystemError(errno,
                               _("cannot save domain '%s': lxc-cr went away before the tree was stopped"),
                               job->name);
        commit = false;
    }
    /* Without our 'k' the engine lets the tree go on running. */
    close(job->sock);
    job->sock = -1;
    if (lxcCREngineWait(job->enginePid, &status) < 0)
        commit = false;
    job->enginePid = 0;

    if (!commit) {
        unlink(job->path);
        if (job->freezer)
            lxcCRFreezerSet(job->freezer, "FROZEN");
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        ret = 0;
    } else if (lxcCRProcessAlive(job->controllerPid)) {
        /* It failed after the save file was complete and the domain still
         * runs: no save file then. */
        cause = lxcCREngineCause(job->outPath, status);
        unlink(job->path);
        if (job->freezer)
            lxcCRFreezerSet(job->freezer, "FROZEN");
        lxcCRReportError(LXC_CR_ERR_OPERATION_FAILED,
                         _("cannot save domain '%s': lxc-cr failed once its images were saved: %s (log '%s'); the domain goes on running"),
                         job->name, cause, job->logPath);
    } else {
        /* The save file is complete and the domain gone: saved. */
        ret = 0;
    }
    lxcCRJobClear(job);
    return ret;
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


/* Write data to path through a temporary name, synced; mode 0600. */
static int
lxcCRWriteFileAtomic(const char *path,
                     const char *data)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmp = g_strdup_printf(".%s.new", base);
    g_autofree char *tmpPath = g_build_filename(dir, tmp, NULL);

    unlink(tmpPath);
    if (lxcCRWriteRecord(dir, tmp, data) < 0)
        return -1;
    if (rename(tmpPath, path) < 0) {
        lxcCRReportSystemError(errno, _("cannot move '%s' into place as '%s'"), tmpPath, path);
        unlink(tmpPath);
        return -1;
    }
    return 0;
}


/* A new host pty pair: the master (returned) and its slave's path. */
static int
lxcCROpenConsole(const char *name,
                 char **slave)
{
    char buf[64];
    int fd;

    if ((fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 ||
        grantpt(fd) < 0 || unlockpt(fd) < 0 || ptsname_r(fd, buf, sizeof(buf)) != 0) {
        lxcCRReportSystemError(errno,
                               _("cannot restore domain '%s': cannot open a host pty for its console"),
                               name);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *slave = g_strdup(buf);
    return fd;
}


int
lxcCRDomainRestore(const char *stateDir,
                   const char *path,
                   const char *dxml,
                   unsigned int flags,
                   pid_t *controllerPid,
                   bool *paused)
{
    g_autoptr(lxcCRSaveImage) img = NULL;
    g_autoptr(lxcCRDomain) saved = NULL;
    g_autoptr(lxcCRDomain) def = NULL;
    g_autoptr(lxcCRDomain) st = NULL;
    g_autoptr(GKeyFile) meta = NULL;
    g_autoptr(GPtrArray) argv = NULL;
    g_autofree char *statusPath = NULL;
    g_autofree char *pidPath = NULL;
    g_autofree char *bin = NULL;
    g_autofree char *what = NULL;
    g_autofree char *workDir = NULL;
    g_autofree char *imgDir = NULL;
    g_autofree char *outPath = NULL;
    g_autofree char *logPath = NULL;
    g_autofree char *rootPidPath = NULL;
    g_autofree char *metaData = NULL;
    g_autofree char *statusXml = NULL;
    g_autofree char *newStatus = NULL;
    g_autofree char *edited = NULL;
    g_autofree char *consoleKey = NULL;
    g_autofree char *slave = NULL;
    g_autofree char *pidData = NULL;
    g_autofree char *rootPidStr = NULL;
    g_autofree char *cause = NULL;
    bool wrotePid = false;
    bool wroteStatus = false;
    pid_t rootPid = 0;
    pid_t pid = 0;
    int master = -1;
    int status = 0;
    size_t i;
    int ret = -1;

    lxcCRResetLastError();
    if (controllerPid)
        *controllerPid = 0;
    if (paused)
        *paused = false;
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

    /* 1. Everything is checked before anything is created. */
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
    if (!(metaData = lxcCRSaveImageGetRecord(img, LXC_CR_META_RECORD, 65536)) ||
        !(statusXml = lxcCRSaveImageGetRecord(img, LXC_CR_STATUS_RECORD, LXC_CR_SAVE_MAX_XML))) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                         _("save file '%s' holds no checkpoint of a domain (no '%s' record)"),
                         path, metaData ? LXC_CR_STATUS_RECORD : LXC_CR_META_RECORD);
        return -1;
    }
    meta = g_key_file_new();
    if (!g_key_file_load_from_data(meta, metaData, -1, G_KEY_FILE_NONE, NULL) ||
        !(consoleKey = g_key_file_get_string(meta, LXC_CR_META_GROUP, "console-key", NULL))) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                         _("save file '%s': its '%s' record names no console"),
                         path, LXC_CR_META_RECORD);
        return -1;
    }
    if (!(st = lxcCRStatusParseString(statusXml, path)))
        return -1;
    if (!STREQ(st->name, saved->name)) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                         _("save file '%s': it holds domain '%s' and the checkpoint of '%s'"),
                         path, saved->name, st->name);
        return -1;
    }
    /* The XML of the header (edited by save-image-define) or the one given:
     * what it may change goes into the status file the domain comes back with. */
    if (lxcCRDomainCheckEdit(st, def ? def : saved, path) < 0)
        return -1;
    if (!(edited = lxcCRStatusApplyEdit(statusXml, path, dxml ? dxml : img->xml)))
        return -1;
    g_free(statusXml);
    statusXml = g_steal_pointer(&edited);
    g_clear_pointer(&st, lxcCRDomainFree);
    if (!(st = lxcCRStatusParseString(statusXml, path)))
        return -1;
    statusPath = lxcCRStatusPath(stateDir, saved->name);
    if (access(statusPath, F_OK) == 0) {
        g_autoptr(lxcCRDomain) running = lxcCRStatusParseFile(statusPath);

        if (running && lxcCRProcessAlive(running->controllerPid))
            lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                             _("cannot restore domain '%s' from '%s': it is running (controller pid %d)"),
                             saved->name, path, (int)running->controllerPid);
        else
            lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                             _("cannot restore domain '%s' from '%s': its status file '%s' exists (libvirt takes it as active)"),
                             saved->name, path, statusPath);
        return -1;
    }
    what = g_strdup_printf(_("cannot restore domain '%s'"), saved->name);
    if (!(bin = lxcCREngineBinary(what)))
        return -1;

    /* 2. The images, unpacked; liblxccr's records read. */
    if (!(workDir = lxcCRMakeWorkDir(path)))
        return -1;
    imgDir = g_build_filename(workDir, "img", NULL);
    outPath = g_build_filename(workDir, "lxc-cr.out", NULL);
    rootPidPath = g_build_filename(workDir, "root.pid", NULL);
    logPath = g_strdup_printf("%s/%s.lxc-cr-restore.log", stateDir, saved->name);
    pidPath = g_strdup_printf("%s/%s.pid", stateDir, saved->name);
    if (mkdir(imgDir, 0700) < 0) {
        lxcCRReportSystemError(errno, _("cannot restore domain '%s': cannot create '%s'"),
                               saved->name, imgDir);
        goto out;
    }
    if (lxcCRSaveImageExtract(img, imgDir) < 0)
        goto out;
    if (flags & LXC_CR_SAVE_BYPASS_CACHE)
        lxcCRSaveImageDropCache(img);
    /* liblxccr's records are not the engine's */
    {
        g_autofree char *m = g_build_filename(imgDir, LXC_CR_META_RECORD, NULL);
        g_autofree char *t = g_build_filename(imgDir, LXC_CR_STATUS_RECORD, NULL);

        unlink(m);
        unlink(t);
    }

    /* 3. What the controller had that cannot be copied: its console and pid file. */
    if ((master = lxcCROpenConsole(saved->name, &slave)) < 0)
        goto out;
    pidData = g_strdup_printf("%d\n", (int)st->controllerPid);
    unlink(pidPath);
    if (lxcCRWriteFileAtomic(pidPath, pidData) < 0)
        goto out;
    wrotePid = true;

    /* 4. The engine rebuilds controller and container. */
    argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv, g_strdup(bin));
    g_ptr_array_add(argv, g_strdup("restore"));
    g_ptr_array_add(argv, g_strdup("-D"));
    g_ptr_array_add(argv, g_strdup(imgDir));
    g_ptr_array_add(argv, g_strdup("--restore-detached"));
    g_ptr_array_add(argv, g_strdup("--pidfile"));
    g_ptr_array_add(argv, g_strdup(rootPidPath));
    g_ptr_array_add(argv, g_strdup("-o"));
    g_ptr_array_add(argv, g_strdup(logPath));
    g_ptr_array_add(argv, g_strdup("-v4"));
    g_ptr_array_add(argv, g_strdup("--shell-job"));
    g_ptr_array_add(argv, g_strdup("--tcp-established"));
    g_ptr_array_add(argv, g_strdup("--file-locks"));
    g_ptr_array_add(argv, g_strdup("--inherit-fd"));
    g_ptr_array_add(argv, g_strdup_printf("fd[%d]:%s", LXC_CR_ENGINE_FD, consoleKey));
    for (i = 0; i < st->nnets; i++) {
        lxcCRNet *net = &st->nets[i];

        if (!net->hostVeth || !net->guestDev)
            continue;
        g_ptr_array_add(argv, g_strdup("--external"));
        if (net->bridge)
            g_ptr_array_add(argv, g_strdup_printf("veth[%s]:%s@%s", net->guestDev,
                                                  net->hostVeth, net->bridge));
        else
            g_ptr_array_add(argv, g_strdup_printf("veth[%s]:%s", net->guestDev, net->hostVeth));
    }
    g_ptr_array_add(argv, NULL);

    if (lxcCREngineSpawn((const char *const *)argv->pdata, master, outPath, &pid) < 0 ||
        lxcCREngineWait(pid, &status) < 0)
        goto out;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        cause = lxcCREngineCause(outPath, status);
        lxcCRReportError(LXC_CR_ERR_OPERATION_FAILED,
                         _("cannot restore domain '%s' from '%s': lxc-cr cannot rebuild its controller and container: %s (log '%s')"),
                         saved->name, path, cause, logPath);
        goto out;
    }
    if (!g_file_get_contents(rootPidPath, &rootPidStr, NULL, NULL) ||
        (rootPid = atoi(rootPidStr)) <= 0) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_FAILED,
                         _("cannot restore domain '%s' from '%s': lxc-cr wrote no pid to '%s'"),
                         saved->name, path, rootPidPath);
        goto out;
    }
    if (rootPid != st->controllerPid) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_FAILED,
                         _("cannot restore domain '%s' from '%s': its controller came back as pid %d, not %d"),
                         saved->name, path, (int)rootPid, (int)st->controllerPid);
        goto out;
    }

    /* 5. The status file libvirt adopts the domain from, console on the new pty. */
    if (!(newStatus = lxcCRStatusRewrite(statusXml, statusPath, slave, "restored")) ||
        lxcCRWriteFileAtomic(statusPath, newStatus) < 0)
        goto out;
    wroteStatus = true;

    if (controllerPid)
        *controllerPid = rootPid;
    if (paused)
        *paused = (flags & LXC_CR_SAVE_PAUSED) ||
                  (!(flags & LXC_CR_SAVE_RUNNING) &&
                   ((img->flags & LXC_CR_SAVE_PAUSED) ||
                    (!img->wasRunning && !(img->flags & LXC_CR_SAVE_RUNNING))));
    ret = 0;

 out:
    if (ret < 0) {
        if (rootPid > 0) {
            /* Restored, but not handed to libvirt: it must not stay. */
            kill(rootPid, SIGKILL);
            if (st && st->initPid > 0)
                kill(st->initPid, SIGKILL);
        }
        if (wroteStatus)
            unlink(statusPath);
        if (wrotePid)
            unlink(pidPath);
    }
    if (master >= 0)
        close(master);
    lxcCRRemoveTree(workDir);
    return ret;
}


int
lxcCRSaveImageDefineXML(const char *path,
                        const char *dxml,
                        unsigned int flags)
{
    g_autoptr(lxcCRSaveImage) img = NULL;
    g_autoptr(lxcCRDomain) saved = NULL;
    g_autoptr(lxcCRDomain) def = NULL;
    unsigned int newFlags;

    lxcCRResetLastError();
    if (!path || !dxml) {
        lxcCRReportError(LXC_CR_ERR_INVALID_ARG, _("no save file or XML given"));
        return -1;
    }
    if (flags & ~(LXC_CR_SAVE_RUNNING | LXC_CR_SAVE_PAUSED)) {
        lxcCRReportError(LXC_CR_ERR_INVALID_ARG,
                         _("save file '%s': unsupported flags 0x%x"),
                         path, flags & ~(LXC_CR_SAVE_RUNNING | LXC_CR_SAVE_PAUSED));
        return -1;
    }
    if ((flags & LXC_CR_SAVE_RUNNING) && (flags & LXC_CR_SAVE_PAUSED)) {
        lxcCRReportError(LXC_CR_ERR_INVALID_ARG,
                         _("save file '%s': 'running' and 'paused' are mutually exclusive"),
                         path);
        return -1;
    }
    if (!(img = lxcCRSaveImageOpen(path)))
        return -1;
    if (!(saved = lxcCRDomainParseString(img->xml, path)))
        return -1;
    if (!(def = lxcCRDomainParseString(dxml, _("the XML given to define"))))
        return -1;
    if (lxcCRDomainCheckEdit(saved, def, path) < 0)
        return -1;
    newFlags = img->flags;
    if (flags) {
        newFlags &= ~(LXC_CR_SAVE_RUNNING | LXC_CR_SAVE_PAUSED);
        newFlags |= flags;
    }
    return lxcCRSaveImageRewrite(img, dxml, newFlags);
}
