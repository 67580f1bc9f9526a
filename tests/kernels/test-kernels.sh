#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
#
# scripts/lib/kernels.sh against a made-up Debian: dpkg-query and apt-cache
# are replaced by stand-ins that read two tables (installed packages, and
# what apt offers), and the files the packages would install live under a
# temporary LAZYIDLE_KERNEL_FS_ROOT. So every case (versions that agree,
# headers or image of another upload, 6.12 packages not taken for 6.1, other
# flavours ignored, installing what is missing) runs the same on any machine.
# Exit 0 only if every case passes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

mkdir -p "$tmp/bin"
# dpkg-query -W -f=FORMAT NAME-OR-GLOB, over $tmp/installed ("name version" lines)
cat > "$tmp/bin/dpkg-query" <<'EOF'
#!/bin/sh
format=${2#-f=} pattern=$3 found=1
while read -r name version; do
  case $name in $pattern) ;; *) continue ;; esac
  printf "$(echo "$format" | sed "s/\${Package}/$name/g; s/\${Version}/$version/g; s/\${Status}/install ok installed/g")"
  found=0
done < "$FAKE_DB/installed"
exit $found
EOF
# apt-cache search --names-only REGEX | apt-cache madison NAME, over $tmp/apt
cat > "$tmp/bin/apt-cache" <<'EOF'
#!/bin/sh
case $1 in
  search) awk '{print $1 " - a package"}' "$FAKE_DB/apt" | grep -E "$3" ;;
  madison) awk -v n="$2" '$1 == n { print " " $1 " | " $2 " | http://deb.example Packages" }' "$FAKE_DB/apt" ;;
esac
EOF
# The files the installed packages would have put on disk, under the fake root.
cat > "$tmp/bin/install-files" <<'EOF'
#!/bin/sh
while read -r name version; do
  case $name in
    linux-source-*) : > "$FAKE_FS/usr/src/$name.tar.xz" ;;
    linux-headers-*)
      mkdir -p "$FAKE_FS/usr/src/$name/include/generated"
      echo "#define UTS_RELEASE \"${name#linux-headers-}\"" > "$FAKE_FS/usr/src/$name/include/generated/utsrelease.h" ;;
    linux-image-*) release=${name#linux-image-}; : > "$FAKE_FS/boot/vmlinuz-${release%-unsigned}" ;;
  esac
done < "$FAKE_DB/installed"
EOF
chmod +x "$tmp/bin/dpkg-query" "$tmp/bin/apt-cache" "$tmp/bin/install-files"
export FAKE_DB="$tmp/db" FAKE_FS="$tmp/fs"

# setup INSTALLED APT: the two tables (one "name version" a line, ';' separated)
# and the files of the installed packages.
setup() {
  rm -rf "$tmp/db" "$tmp/fs"
  mkdir -p "$tmp/db" "$tmp/fs/usr/src" "$tmp/fs/boot"
  echo "$1" | tr ';' '\n' | sed '/^ *$/d; s/^ *//' > "$tmp/db/installed"
  echo "$2" | tr ';' '\n' | sed '/^ *$/d; s/^ *//' > "$tmp/db/apt"
  "$tmp/bin/install-files"
}

# resolve ARGS...: runs lazyidle_kernel_resolve in a subshell with the fakes;
# leaves its stdout+stderr in OUT and its status in RC.
resolve() {
  OUT=$(PATH="$tmp/bin:$PATH" LAZYIDLE_KERNEL_FS_ROOT="$tmp/fs" sh -c '
    . "$1/scripts/deps.sh"
    . "$1/scripts/lib/kernels.sh"
    # Installing: what apt-get would do, to the tables and the fake root.
    lazyidle_need_packages() {
      for p in "$@"; do
        grep -q "^$p " "$FAKE_DB/installed" || grep "^$p " "$FAKE_DB/apt" >> "$FAKE_DB/installed"
        echo "installed $p"
      done
      install-files
    }
    shift
    lazyidle_kernel_resolve "$@" || exit $?
    echo "release=$LAZYIDLE_KERNEL_RELEASE image=$LAZYIDLE_KERNEL_IMAGE_PKG headers=$LAZYIDLE_KERNEL_HEADERS_PKG"
    echo "kdir=$LAZYIDLE_KERNEL_KDIR vmlinuz=$LAZYIDLE_KERNEL_VMLINUZ version=$LAZYIDLE_KERNEL_VERSION"
    echo "line" | lazyidle_kernel_lines
  ' sh "$root" "$@" 2>&1)
  RC=$?
}
expect() {  # NAME, expected RC, then strings OUT must contain
  _name=$1 _rc=$2
  shift 2
  [ "$RC" -eq "$_rc" ] || { fail "$_name: exit $RC, expected $_rc: $OUT"; return; }
  for _want in "$@"; do
    case $OUT in *"$_want"*) ;; *) fail "$_name: output lacks '$_want': $OUT"; return ;; esac
  done
  pass "$_name"
}

both="linux-source-6.1 6.1.192-3; linux-headers-6.1.0-57-amd64 6.1.192-3; linux-image-6.1.0-57-amd64 6.1.192-3;
  linux-source-6.12 6.12.118-1~deb12u1; linux-headers-6.12.118+deb12-amd64 6.12.118-1~deb12u1;
  linux-image-6.12.118+deb12-amd64-unsigned 6.12.118-1~deb12u1"

setup "$both" ""
resolve 6.1
expect "6.1 resolves to the 6.1.0-57 ABI" 0 "release=6.1.0-57-amd64 image=linux-image-6.1.0-57-amd64 headers=linux-headers-6.1.0-57-amd64" \
  "kdir=$tmp/fs/usr/src/linux-headers-6.1.0-57-amd64 vmlinuz=$tmp/fs/boot/vmlinuz-6.1.0-57-amd64 version=6.1.192" "[6.1.192] line"
resolve 6.12
expect "6.12 resolves to the unsigned image and its headers" 0 \
  "release=6.12.118+deb12-amd64 image=linux-image-6.12.118+deb12-amd64-unsigned headers=linux-headers-6.12.118+deb12-amd64" \
  "vmlinuz=$tmp/fs/boot/vmlinuz-6.12.118+deb12-amd64 version=6.12.118" "[6.12.118] line"

setup "linux-source-6.12 6.12.118-1~deb12u1; linux-headers-6.12.117+deb12-amd64 6.12.117-1~deb12u1;
  linux-image-6.12.118+deb12-amd64-unsigned 6.12.118-1~deb12u1" ""
resolve 6.12
expect "headers of another upload: a mismatch naming both packages" 1 "version mismatch" \
  "linux-source-6.12 is 6.12.118-1~deb12u1" "linux-headers-6.12.117+deb12-amd64 is 6.12.117-1~deb12u1"

setup "linux-source-6.12 6.12.118-1~deb12u1; linux-headers-6.12.118+deb12-amd64 6.12.118-1~deb12u1;
  linux-image-6.12.117+deb12-amd64-unsigned 6.12.117-1~deb12u1" ""
resolve 6.12
expect "image of another upload: a mismatch naming both packages" 1 "version mismatch" \
  "linux-image-6.12.117+deb12-amd64-unsigned is 6.12.117-1~deb12u1"

setup "linux-source-6.1 6.1.192-3; linux-headers-6.12.118+deb12-amd64 6.12.118-1~deb12u1;
  linux-headers-6.1.0-57-cloud-amd64 6.1.192-3; linux-headers-6.1.0-57-rt-amd64 6.1.192-3;
  linux-headers-6.1.0-57-common 6.1.192-3; linux-image-6.1.0-57-amd64 6.1.192-3" ""
resolve 6.1
expect "6.1 takes neither 6.12 nor cloud/rt/common headers" 1 "no amd64 linux-headers package of 6.1"

setup "linux-source-6.12 6.12.118-1~deb12u1" "linux-headers-6.12.118+deb12-amd64 6.12.118-1~deb12u1;
  linux-headers-6.12.117+deb12-amd64 6.12.117-1~deb12u1; linux-image-6.12.118+deb12-amd64-unsigned 6.12.118-1~deb12u1;
  linux-image-6.12.118+deb12-cloud-amd64 6.12.118-1~deb12u1"
resolve 6.12
expect "offered by apt but not installed: named, not installed unasked" 1 \
  "not installed: linux-headers-6.12.118+deb12-amd64 linux-image-6.12.118+deb12-amd64-unsigned"
resolve 6.12 headers
expect "only the parts asked for must be installed" 1 "not installed: linux-headers-6.12.118+deb12-amd64 (version"
case $OUT in *linux-image*) fail "asking for headers only still asked for the image: $OUT" ;; esac

setup "linux-source-6.1 6.1.192-3" "linux-image-6.1.0-57-amd64-unsigned 6.1.192-3; linux-image-6.1.0-57-amd64 6.1.192-3;
  linux-headers-6.1.0-57-amd64 6.1.192-3"
resolve 6.1 --install
expect "--install installs the signed image and the headers of the source's version" 0 \
  "installed linux-headers-6.1.0-57-amd64" "installed linux-image-6.1.0-57-amd64" \
  "image=linux-image-6.1.0-57-amd64 headers=linux-headers-6.1.0-57-amd64"
resolve 6.1
expect "... and they stay installed" 0 "image=linux-image-6.1.0-57-amd64 headers=linux-headers-6.1.0-57-amd64"

setup "" ""
resolve 6.12
expect "no source package: says which one to install" 1 "linux-source-6.12 is not installed"

setup "$both" ""
rm "$tmp/fs/boot/vmlinuz-6.12.118+deb12-amd64"
resolve 6.12 source headers
expect "a missing image file does not matter when the image is not asked for" 0 "release=6.12.118+deb12-amd64"
resolve 6.12
expect "a missing image file is named" 1 "vmlinuz-6.12.118+deb12-amd64 missing"

OUT=$(LAZYIDLE_KERNELS="6.1 linux" sh -c '. "$1/scripts/lib/kernels.sh"; lazyidle_kernels' sh "$root" 2>&1)
RC=$?
expect "LAZYIDLE_KERNELS refuses what is not a series" 1 "'linux' is not a kernel series"
OUT=$(sh -c 'unset LAZYIDLE_KERNELS; . "$1/scripts/lib/kernels.sh"; lazyidle_kernels | tr "\n" " "' sh "$root" 2>&1)
RC=$?
expect "both kernels by default" 0 "6.1 6.12 "

if [ "$failed" -eq 0 ]; then echo "test-kernels: PASS"; else echo "test-kernels: FAIL ($failed)"; exit 1; fi
