/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lxc_cr_engine.c: run the lxc-cr command, and what a dump must be told
 *
 * liblxccr runs inside libvirtd; the engine runs as a child process (the
 * lxc-cr binary), so that a fault in it never takes the daemon down and its
 * ptrace and namespace games stay out of libvirtd's threads. Its stdout and
 * stderr go to a file whose last line, on failure, is the cause liblxccr
 * reports.
 *
 * Also here: which of the controller's UNIX sockets have a peer outside the
 * tree (the accepted connection from libvirtd), found with sock_diag.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdint.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "lxc_cr_engine.h"

#ifndef LXC_CR_BINDIR
# define LXC_CR_BINDIR "/usr/bin"
#endif


char *
lxcCREngineBinary(const char *what)
{
    const char *env = getenv("LXC_CR_BIN");
    g_autofree char *bin = g_strdup(env && *env ? env : LXC_CR_BINDIR "/lxc-cr");

    if (access(bin, X_OK) < 0) {
        lxcCRReportSystemError(errno,
                               _("%s: cannot run the lxc-cr engine '%s' (set LXC_CR_BIN)"),
                               what, bin);
        return NULL;
    }
    return g_steal_pointer(&bin);
}


int
lxcCREngineSpawn(const char *const *argv,
                 int passFd,
                 const char *outPath,
                 pid_t *pid)
{
    sigset_t all;
    int nullFd;
    int outFd;
    pid_t child;

    if ((nullFd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
        lxcCRReportSystemError(errno, _("cannot open '%s'"), "/dev/null");
        return -1;
    }
    if ((outFd = open(outPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
        lxcCRReportSystemError(errno, _("cannot create the lxc-cr output file '%s'"), outPath);
        close(nullFd);
        return -1;
    }

    if ((child = fork()) < 0) {
        lxcCRReportSystemError(errno, _("cannot fork to run '%s'"), argv[0]);
        close(nullFd);
        close(outFd);
        return -1;
    }
    if (child == 0) {
        /* Async-signal-safe calls only: libvirtd has threads. */
        int keep = passFd >= 0 ? fcntl(passFd, F_DUPFD, 10) : -1;
        struct sigaction dfl = { .sa_handler = SIG_DFL };

        /* libvirtd ignores SIGPIPE and blocks signals in its threads */
        sigemptyset(&all);
        sigaction(SIGPIPE, &dfl, NULL);
        sigprocmask(SIG_SETMASK, &all, NULL);
        if (dup2(nullFd, 0) < 0 || dup2(outFd, 1) < 0 || dup2(outFd, 2) < 0)
            _exit(126);
        if (keep >= 0 && dup2(keep, LXC_CR_ENGINE_FD) < 0)
            _exit(126);
        syscall(SYS_close_range, LXC_CR_ENGINE_FD + (keep >= 0 ? 1 : 0), ~0U, 0);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(nullFd);
    close(outFd);
    *pid = child;
    return 0;
}


int
lxcCREngineWait(pid_t pid,
                int *status)
{
    while (waitpid(pid, status, 0) < 0) {
        if (errno == EINTR)
            continue;
        lxcCRReportSystemError(errno, _("cannot wait for lxc-cr (pid %d)"), (int)pid);
        return -1;
    }
    return 0;
}


char *
lxcCREngineCause(const char *outPath,
                 int status)
{
    g_autofree char *out = NULL;
    g_auto(GStrv) lines = NULL;
    const char *cause = NULL;
    size_t n;

    if (g_file_get_contents(outPath, &out, NULL, NULL)) {
        lines = g_strsplit(g_strstrip(out), "\n", -1);
        for (n = g_strv_length(lines); n > 0 && !cause; n--) {
            if (*g_strstrip(lines[n - 1]))
                cause = lines[n - 1];
        }
    }
    if (cause)
        return g_strdup(cause);
    if (WIFSIGNALED(status))
        return g_strdup_printf(_("it was killed by signal %d"), WTERMSIG(status));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return g_strdup(_("it could not be run"));
    return g_strdup_printf(_("it exited with status %d and said nothing"),
                           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}


/* The socket inode fd names ("socket:[INO]"), or 0. */
static unsigned long long
lxcCRSocketInode(int dirfd,
                 const char *name)
{
    char link[64];
    ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);
    unsigned long long ino;

    if (n <= 0)
        return 0;
    link[n] = '\0';
    if (sscanf(link, "socket:[%llu]", &ino) != 1)
        return 0;
    return ino;
}


/* Add the socket inodes of pid's descriptors to set (keys: inode numbers). */
static int
lxcCRTaskSockets(pid_t pid,
                 GHashTable *set,
                 GArray *order)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/fd", (int)pid);
    struct dirent *ent;
    DIR *dir;

    if (!(dir = opendir(path))) {
        lxcCRReportSystemError(errno, _("cannot list the descriptors of pid %d"), (int)pid);
        return -1;
    }
    while ((ent = readdir(dir))) {
        unsigned long long ino;

        if (ent->d_name[0] == '.')
            continue;
        if (!(ino = lxcCRSocketInode(dirfd(dir), ent->d_name)))
            continue;
        if (!g_hash_table_contains(set, GSIZE_TO_POINTER(ino))) {
            g_hash_table_add(set, GSIZE_TO_POINTER(ino));
            if (order)
                g_array_append_val(order, ino);
        }
    }
    closedir(dir);
    return 0;
}


/* Every process below pid (children, recursively), into pids. */
static void
lxcCRTreeCollect(pid_t pid,
                 GArray *pids)
{
    g_autofree char *taskDir = g_strdup_printf("/proc/%d/task", (int)pid);
    struct dirent *ent;
    DIR *dir;

    g_array_append_val(pids, pid);
    if (!(dir = opendir(taskDir)))
        return;
    while ((ent = readdir(dir))) {
        g_autofree char *path = NULL;
        g_autofree char *children = NULL;
        g_auto(GStrv) list = NULL;
        size_t i;

        if (ent->d_name[0] == '.')
            continue;
        path = g_strdup_printf("%s/%s/children", taskDir, ent->d_name);
        if (!g_file_get_contents(path, &children, NULL, NULL))
            continue;
        list = g_strsplit(g_strstrip(children), " ", -1);
        for (i = 0; list[i]; i++) {
            if (*list[i])
                lxcCRTreeCollect(atoi(list[i]), pids);
        }
    }
    closedir(dir);
}


/* Peers of every UNIX socket of this network namespace: inode -> peer inode. */
static int
lxcCRUnixPeers(GHashTable *peers,
               const char *what)
{
    struct {
        struct nlmsghdr nlh;
        struct unix_diag_req req;
    } msg = {
        .nlh = {
            .nlmsg_len = sizeof(msg),
            .nlmsg_type = SOCK_DIAG_BY_FAMILY,
            .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
        },
        .req = {
            .sdiag_family = AF_UNIX,
            .udiag_states = ~0U,
            .udiag_show = UDIAG_SHOW_PEER,
        },
    };
    g_autofree char *buf = g_malloc(32768);
    int fd;
    int ret = -1;

    if ((fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) < 0) {
        lxcCRReportSystemError(errno, _("%s: cannot open a sock_diag socket"), what);
        return -1;
    }
    if (send(fd, &msg, sizeof(msg), 0) < 0) {
        lxcCRReportSystemError(errno, _("%s: cannot ask sock_diag for UNIX sockets"), what);
        goto out;
    }
    for (;;) {
        ssize_t n = recv(fd, buf, 32768, 0);
        struct nlmsghdr *h;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            lxcCRReportSystemError(errno, _("%s: cannot read sock_diag's answer"), what);
            goto out;
        }
        for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            struct unix_diag_msg *m = NLMSG_DATA(h);
            struct rtattr *attr;
            int len;

            if (h->nlmsg_type == NLMSG_DONE) {
                ret = 0;
                goto out;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);

                lxcCRReportSystemError(-e->error, _("%s: sock_diag refused to list UNIX sockets"),
                                       what);
                goto out;
            }
            len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
            for (attr = (struct rtattr *)(m + 1); RTA_OK(attr, len); attr = RTA_NEXT(attr, len)) {
                if (attr->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(attr) >= sizeof(uint32_t)) {
                    uint32_t peer = *(uint32_t *)RTA_DATA(attr);

                    if (peer)
                        g_hash_table_insert(peers, GSIZE_TO_POINTER((gsize)m->udiag_ino),
                                            GSIZE_TO_POINTER((gsize)peer));
                }
            }
        }
    }
 out:
    close(fd);
    return ret;
}


GArray *
lxcCRControllerOutsideSockets(pid_t controllerPid,
                              const char *what)
{
    g_autoptr(GHashTable) tree = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_autoptr(GHashTable) own = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_autoptr(GHashTable) peers = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_autoptr(GArray) pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
    g_autoptr(GArray) ctlSocks = g_array_new(FALSE, FALSE, sizeof(unsigned long long));
    g_autoptr(GArray) outside = g_array_new(FALSE, FALSE, sizeof(unsigned long long));
    guint i;

    if (lxcCRTaskSockets(controllerPid, own, ctlSocks) < 0)
        return NULL;
    lxcCRTreeCollect(controllerPid, pids);
    for (i = 0; i < pids->len; i++) {
        /* A process of the container that just exited is no matter. */
        if (lxcCRTaskSockets(g_array_index(pids, pid_t, i), tree, NULL) < 0 && i == 0)
            return NULL;
    }
    lxcCRResetLastError();
    /* The controller shares the host's network namespace with libvirtd. */
    if (lxcCRUnixPeers(peers, what) < 0)
        return NULL;
    for (i = 0; i < ctlSocks->len; i++) {
        unsigned long long ino = g_array_index(ctlSocks, unsigned long long, i);
        gpointer peer = g_hash_table_lookup(peers, GSIZE_TO_POINTER((gsize)ino));

        if (peer && !g_hash_table_contains(tree, peer))
            g_array_append_val(outside, ino);
    }
    return g_steal_pointer(&outside);
}


/* The v1 hierarchy directory of a /proc/PID/cgroup line's controllers. */
static char *
lxcCRCgroupDir(const char *controllers)
{
    g_autofree char *first = NULL;
    const char *name = controllers;
    char *path;

    if (g_str_has_prefix(name, "name="))
        name += strlen("name=");
    path = g_strdup_printf("/sys/fs/cgroup/%s", name);
    if (g_file_test(path, G_FILE_TEST_IS_DIR))
        return path;
    g_free(path);
    first = g_strndup(name, strcspn(name, ","));
    path = g_strdup_printf("/sys/fs/cgroup/%s", first);
    if (g_file_test(path, G_FILE_TEST_IS_DIR))
        return path;
    g_free(path);
    return NULL;
}


void
lxcCRControllerGatherThreads(pid_t pid)
{
    g_autofree char *procPath = g_strdup_printf("/proc/%d/cgroup", (int)pid);
    g_autofree char *taskDir = g_strdup_printf("/proc/%d/task", (int)pid);
    g_autofree char *procCg = NULL;
    g_auto(GStrv) procLines = NULL;
    g_autoptr(GDir) dir = NULL;
    const char *tid;

    if (!g_file_get_contents(procPath, &procCg, NULL, NULL) ||
        !(dir = g_dir_open(taskDir, 0, NULL)))
        return;
    procLines = g_strsplit(procCg, "\n", -1);
    while ((tid = g_dir_read_name(dir))) {
        g_autofree char *path = g_strdup_printf("%s/%s/cgroup", taskDir, tid);
        g_autofree char *cg = NULL;
        g_auto(GStrv) lines = NULL;
        size_t i;
        size_t j;

        if (!g_file_get_contents(path, &cg, NULL, NULL))
            continue;
        lines = g_strsplit(cg, "\n", -1);
        for (i = 0; lines[i]; i++) {
            g_auto(GStrv) mine = g_strsplit(lines[i], ":", 3);

            /* v1 only: "ID:CONTROLLERS:PATH"; cgroup2 has no threads of its own here */
            if (g_strv_length(mine) != 3 || !*mine[1])
                continue;
            for (j = 0; procLines[j]; j++) {
                g_auto(GStrv) its = g_strsplit(procLines[j], ":", 3);
                g_autofree char *hier = NULL;
                g_autofree char *tasks = NULL;
                int fd;

                if (g_strv_length(its) != 3 || !STREQ(its[1], mine[1]) || STREQ(its[2], mine[2]))
                    continue;
                if (!(hier = lxcCRCgroupDir(its[1])))
                    continue;
                tasks = g_strdup_printf("%s%s/tasks", hier, its[2]);
                /* best effort: what stays apart, the engine refuses naming it */
                if ((fd = open(tasks, O_WRONLY | O_CLOEXEC)) >= 0) {
                    if (write(fd, tid, strlen(tid)) < 0) {
                        /* the engine names it */
                    }
                    close(fd);
                }
            }
        }
    }
}
