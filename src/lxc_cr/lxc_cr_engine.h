/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lxc_cr_engine.h: running the lxc-cr command (not installed)
 */
#pragma once

#include <sys/types.h>

#include "lxc_cr_internal.h"

/* The descriptor the engine finds what liblxccr hands it on (--post-dump-fd,
 * --inherit-fd fd[N]:...). */
#define LXC_CR_ENGINE_FD 3

/* The lxc-cr binary: $LXC_CR_BIN, else the one installed beside liblxccr;
 * what names the operation in errors. */
char *lxcCREngineBinary(const char *what);

/* Run argv (argv[0] a path) with stdin /dev/null, stdout and stderr to
 * outPath, passFd (if >= 0) as LXC_CR_ENGINE_FD and nothing else open. */
int lxcCREngineSpawn(const char *const *argv, int passFd, const char *outPath, pid_t *pid);

/* waitpid() through EINTR. */
int lxcCREngineWait(pid_t pid, int *status);

/* Why lxc-cr failed: the last line it printed, else how it ended. */
char *lxcCREngineCause(const char *outPath, int status);

/* The inodes of the controller's sockets whose peer no process of its tree
 * holds (the accepted connection from libvirtd); NULL on error. */
GArray *lxcCRControllerOutsideSockets(pid_t controllerPid, const char *what);

/* libvirt's controller leaves a thread (gmain) in some of the cgroups
 * libvirtd had, having moved only its main thread into the domain's: move
 * every thread of pid into the cgroups (v1) of its process, as libvirt
 * means it to be. Best effort: what stays apart, the engine refuses. */
void lxcCRControllerGatherThreads(pid_t pid);
