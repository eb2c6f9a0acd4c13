#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install what lxc-cr needs to build and test, from Debian's packages.
set -euo pipefail
pkgs=(gcc make autoconf automake libtool autopoint gettext pkg-config
      protobuf-c-compiler libprotobuf-c-dev libcap-dev binutils
      libglib2.0-dev libxml2-dev libfuse3-dev libssl-dev
      busybox-static clang libclang-rt-14-dev procps iproute2 util-linux)
# the e2e test's API client (as virt-manager would be); its recommends would
# bring a whole libvirt daemon and QEMU
norec=(python3-libvirt)
missing=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi
missing=()
for p in "${norec[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
