#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build lxc-cr out of tree: scripts/build.sh BUILDDIR [configure options...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
b=${1:-$top/build}
shift || true
[ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null 2>&1)
mkdir -p "$b"
cd "$b"
[ -f Makefile ] || "$top/configure" -q "$@"
make -j"$(nproc)" >/dev/null
make -j"$(nproc)" check TESTS= >/dev/null
echo "built: $b/src/lxc-cr"
