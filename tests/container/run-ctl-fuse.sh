#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-ctl.sh (TAP) with NAME.fuse a real FUSE filesystem served by a thread
# of the controller (ct-launch --fuse: libvirt's lxc-fuse serving the
# container's /proc/meminfo): the tree rooted at the controller is dumped and
# restored with it (see run-ctl.sh and docs/design.md, ns/fuse.c).
CTL_REAL_FUSE=1 exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run-ctl.sh" "$@"
