#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-ctl.sh (TAP) with a container that has exactly libvirt 9.0.0's mounts
# (ct-launch --libvirt-mounts): the tree rooted at its controller is dumped
# and restored with them (see run-ctl.sh).
CTL_LIBVIRT_MOUNTS=1 exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run-ctl.sh" "$@"
