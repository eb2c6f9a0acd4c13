/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fault injection for tests: LXC_CR_FAULT=NAME makes the step that calls
 * fault_inject("NAME") fail with -EIO, after logging where. Names in use:
 *   restore: after-netdev (host ends and macvlans made), after-netconf (the
 *   namespace configured), after-mounts (the tree's mount namespace built),
 *   after-cgroup (cgroups made), in-root (in the root task, before its
 *   children), after-fork (every task exists), before-release (every thread
 *   trapped with its registers loaded: the last step that can fail).
 *   dump: after-images (the images complete and synced, the tree frozen,
 *   before the caller's post-dump step: the tree must go on running and
 *   the images be dropped).
 * fault_stall("NAME") instead waits LXC_CR_FAULT_SECONDS (default 3) when
 * LXC_CR_FAULT names it, to give a test time to act during a step:
 *   dump: dump-stall (same place as after-images: a save in progress that
 *   `virsh domjobinfo` shows and `virsh domjobabort` cancels).
 */
#ifndef CR_COMMON_FAULT_H
#define CR_COMMON_FAULT_H

/* 0, or -EIO when LXC_CR_FAULT names point (logged with pr_err). */
int fault_inject(const char *point);
/* Sleep LXC_CR_FAULT_SECONDS (default 3) when LXC_CR_FAULT names point. */
void fault_stall(const char *point);

#endif
