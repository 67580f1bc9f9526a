#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
#
# `dkms build` of lazyidle against a named (Debian) kernel, in a private
# DKMS tree: stages the source DKMS needs (this directory plus the core
# headers) and never touches /usr/src or /var/lib/dkms, so CI can run it as
# often as it likes. Usage: dkms-build.sh KERNEL_VERSION [STAGE_DIR]
set -eu
kver=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
stage=${2:-$root/build/dkms}
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$here/dkms.conf")
src=$stage/src/lazyidle-$version

rm -rf "$stage"
mkdir -p "$src/include" "$src/lazyidle-include" "$stage/tree"
cp "$here"/Kbuild "$here"/Makefile "$here"/dkms.conf "$here"/*.c "$here"/*.h "$here"/*.cpp \
  "$here"/check-cxx-object.sh "$src/"
cp "$here"/include/*.h "$src/include/"
cp "$root"/shim/no_floats.h "$src/"
cp -r "$root/include/lazyidle" "$src/lazyidle-include/"

dkms add --sourcetree "$stage/src" --dkmstree "$stage/tree" -m lazyidle -v "$version"
dkms build --sourcetree "$stage/src" --dkmstree "$stage/tree" -m lazyidle -v "$version" -k "$kver"
ls "$stage/tree/lazyidle/$version/$kver"/*/module/lazyidle.ko*
