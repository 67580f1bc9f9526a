# shellcheck shell=sh
# shellcheck disable=SC2034  # the LAZYIDLE_KERNEL_* variables are for the sourcing script
# SPDX-License-Identifier: GPL-2.0-only OR MIT
#
# The kernel matrix: which Debian kernels the kernel-side tests build against
# and boot, and where each one's packages, build directory and image are.
# Sourced by the test scripts (after scripts/deps.sh, whose
# lazyidle_need_packages it uses to install what is missing).
#
#   LAZYIDLE_KERNELS   the kernel series to test, default "6.1 6.12"
#   LAZYIDLE_KERNEL_FS_ROOT  prefix of /usr/src and /boot (empty; for tests/kernels/)
#
# A series S names three Debian packages that must have the same version:
# the source (linux-source-S), the image (linux-image-<release>, or its
# -unsigned build, the only one Debian 12 has for 6.12) and the headers
# (linux-headers-<release>). Nothing is hard-coded but S: the version is
# the source package's, and the image and headers are the amd64-flavour
# packages of series S with exactly that version, found with dpkg-query
# (installed) or apt-cache (not yet installed). For 6.1 these are the ones
# the linux-image-amd64 / linux-headers-amd64 metapackages pull in; 6.12
# has no metapackage in Debian 12. The machine's own kernel is never used.
#
# Functions:
#   lazyidle_kernels                  the series of LAZYIDLE_KERNELS, one a line
#   lazyidle_kernel_resolve S [--install] [source] [image] [headers]
#       sets the LAZYIDLE_KERNEL_* variables below for series S and returns 0,
#       or prints an error naming the packages and returns 1. The part names
#       say what the caller needs (default: all three); with --install the
#       missing ones are installed first (apt-get, via lazyidle_need_packages).
#   lazyidle_kernel_lines             filter: prefixes every line with the kernel
#       ("[6.12.118] PASS: ..."), so each result line names its kernel
#
# Variables set by lazyidle_kernel_resolve:
#   LAZYIDLE_KERNEL_SERIES       6.12
#   LAZYIDLE_KERNEL_VERSION      6.12.118                 (upstream version)
#   LAZYIDLE_KERNEL_DEB_VERSION  6.12.118-1~deb12u1       (of all three packages)
#   LAZYIDLE_KERNEL_RELEASE      6.12.118+deb12-amd64     (uname -r of the image)
#   LAZYIDLE_KERNEL_SOURCE_PKG   linux-source-6.12
#   LAZYIDLE_KERNEL_TARBALL      /usr/src/linux-source-6.12.tar.xz
#   LAZYIDLE_KERNEL_IMAGE_PKG    linux-image-6.12.118+deb12-amd64-unsigned
#   LAZYIDLE_KERNEL_HEADERS_PKG  linux-headers-6.12.118+deb12-amd64
#   LAZYIDLE_KERNEL_KDIR         /usr/src/linux-headers-6.12.118+deb12-amd64
#   LAZYIDLE_KERNEL_VMLINUZ      /boot/vmlinuz-6.12.118+deb12-amd64
#   LAZYIDLE_KERNEL_TAG          [6.12.118]

LAZYIDLE_KERNELS=${LAZYIDLE_KERNELS:-"6.1 6.12"}

lazyidle_kernels() {
  for _k_series in $LAZYIDLE_KERNELS; do
    case $_k_series in
      [0-9]*.[0-9]*) echo "$_k_series" ;;
      *) echo "LAZYIDLE_KERNELS: '$_k_series' is not a kernel series such as 6.1 or 6.12" >&2; return 1 ;;
    esac
  done
}

# _lazyidle_kernel_installed_version PACKAGE: its version if installed, else nothing
_lazyidle_kernel_installed_version() {
  dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null |
    sed -n 's/^install ok installed //p'
}

# _lazyidle_kernel_pattern KIND SERIES: the extended regex of the amd64-flavour
# package names of KIND (image/headers) in SERIES: linux-headers-6.1.0-57-amd64,
# linux-image-6.12.118+deb12-amd64-unsigned; not -cloud-amd64, -rt-amd64, -common,
# and not 6.12 when the series is 6.1.
_lazyidle_kernel_pattern() {
  _k_suffix=
  [ "$1" = image ] && _k_suffix='(-unsigned)?'
  printf '^linux-%s-%s\\.[^-]*(-[0-9]+)?-amd64%s$' "$1" "$(echo "$2" | sed 's/\./\\./g')" "$_k_suffix"
}

# _lazyidle_kernel_find KIND SERIES VERSION: the package name of KIND with
# VERSION; installed ones first, then what apt offers (signed image before
# -unsigned). Sets _k_found (empty if none) and _k_other ("name version" of an
# installed package of KIND in SERIES with another version, for the error).
_lazyidle_kernel_find() {
  _k_found='' _k_other=''
  _k_re=$(_lazyidle_kernel_pattern "$1" "$2")
  for _k_line in $(dpkg-query -W -f='${Package}=${Version}=${Status}\n' "linux-$1-$2.*" 2>/dev/null |
      sed -n 's/=install ok installed$//p'); do
    _k_name=${_k_line%%=*} _k_version=${_k_line#*=}
    echo "$_k_name" | grep -qE "$_k_re" || continue
    if [ "$_k_version" = "$3" ]; then
      _k_found=$_k_name
      return 0
    fi
    _k_other="$_k_name $_k_version"
  done
  for _k_name in $(apt-cache search --names-only "^linux-$1-$2\\." 2>/dev/null | awk '{print $1}' |
      grep -E "$_k_re" | sort -r); do
    # sort -r puts "...-amd64" after "...-amd64-unsigned"; prefer the signed one.
    if apt-cache madison "$_k_name" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF "$3"; then
      case $_k_name in
        *-unsigned) [ -z "$_k_found" ] && _k_found=$_k_name ;;
        *) _k_found=$_k_name ;;
      esac
    fi
  done
  [ -n "$_k_found" ]
}

lazyidle_kernel_resolve() {
  _k_series=$1
  shift
  _k_install=0 _k_parts=''
  for _k_arg in "$@"; do
    case $_k_arg in
      --install) _k_install=1 ;;
      source|image|headers) _k_parts="$_k_parts $_k_arg" ;;
      *) echo "lazyidle_kernel_resolve: unknown argument $_k_arg" >&2; return 2 ;;
    esac
  done
  [ -n "$_k_parts" ] || _k_parts=" source image headers"
  LAZYIDLE_KERNEL_SERIES=$_k_series
  LAZYIDLE_KERNEL_SOURCE_PKG=linux-source-$_k_series
  LAZYIDLE_KERNEL_TARBALL=${LAZYIDLE_KERNEL_FS_ROOT:-}/usr/src/linux-source-$_k_series.tar.xz

  # The version every part must have is the source package's: the in-tree
  # builds come from it, and the module symbol CRCs of a kernel built from it
  # match only the image and headers of the same Debian upload.
  if [ $_k_install -eq 1 ]; then
    lazyidle_need_packages "$LAZYIDLE_KERNEL_SOURCE_PKG" || {
      echo "kernel $_k_series: cannot install $LAZYIDLE_KERNEL_SOURCE_PKG (apt-cache policy $LAZYIDLE_KERNEL_SOURCE_PKG)" >&2
      return 1; }
  fi
  LAZYIDLE_KERNEL_DEB_VERSION=$(_lazyidle_kernel_installed_version "$LAZYIDLE_KERNEL_SOURCE_PKG")
  if [ -z "$LAZYIDLE_KERNEL_DEB_VERSION" ]; then
    echo "kernel $_k_series: $LAZYIDLE_KERNEL_SOURCE_PKG is not installed (apt-get install $LAZYIDLE_KERNEL_SOURCE_PKG, or run with --install)" >&2
    return 1
  fi
  LAZYIDLE_KERNEL_VERSION=${LAZYIDLE_KERNEL_DEB_VERSION%%-*}  # 6.12.118-1~deb12u1 -> 6.12.118
  LAZYIDLE_KERNEL_TAG="[$LAZYIDLE_KERNEL_VERSION]"

  LAZYIDLE_KERNEL_HEADERS_PKG='' LAZYIDLE_KERNEL_IMAGE_PKG=''
  for _k_kind in headers image; do
    if ! _lazyidle_kernel_find "$_k_kind" "$_k_series" "$LAZYIDLE_KERNEL_DEB_VERSION"; then
      if [ -n "$_k_other" ]; then
        echo "kernel $_k_series: version mismatch: $LAZYIDLE_KERNEL_SOURCE_PKG is $LAZYIDLE_KERNEL_DEB_VERSION but ${_k_other% *} is ${_k_other#* }, and no linux-$_k_kind package of $_k_series with version $LAZYIDLE_KERNEL_DEB_VERSION exists; install the source, image and headers of one Debian version" >&2
      else
        echo "kernel $_k_series: no amd64 linux-$_k_kind package of $_k_series with the version of $LAZYIDLE_KERNEL_SOURCE_PKG ($LAZYIDLE_KERNEL_DEB_VERSION) is installed or offered by apt (apt-cache search linux-$_k_kind-$_k_series)" >&2
      fi
      return 1
    fi
    if [ "$_k_kind" = headers ]; then LAZYIDLE_KERNEL_HEADERS_PKG=$_k_found; else LAZYIDLE_KERNEL_IMAGE_PKG=$_k_found; fi
  done
  LAZYIDLE_KERNEL_RELEASE=${LAZYIDLE_KERNEL_HEADERS_PKG#linux-headers-}
  case $LAZYIDLE_KERNEL_IMAGE_PKG in
    "linux-image-$LAZYIDLE_KERNEL_RELEASE"|"linux-image-$LAZYIDLE_KERNEL_RELEASE-unsigned") ;;
    *) echo "kernel $_k_series: $LAZYIDLE_KERNEL_IMAGE_PKG and $LAZYIDLE_KERNEL_HEADERS_PKG name different kernel releases" >&2; return 1 ;;
  esac
  LAZYIDLE_KERNEL_KDIR=${LAZYIDLE_KERNEL_FS_ROOT:-}/usr/src/$LAZYIDLE_KERNEL_HEADERS_PKG
  LAZYIDLE_KERNEL_VMLINUZ=${LAZYIDLE_KERNEL_FS_ROOT:-}/boot/vmlinuz-$LAZYIDLE_KERNEL_RELEASE

  _k_missing=
  case $_k_parts in *headers*)
    [ -n "$(_lazyidle_kernel_installed_version "$LAZYIDLE_KERNEL_HEADERS_PKG")" ] ||
      _k_missing="$_k_missing $LAZYIDLE_KERNEL_HEADERS_PKG" ;;
  esac
  case $_k_parts in *image*)
    [ -n "$(_lazyidle_kernel_installed_version "$LAZYIDLE_KERNEL_IMAGE_PKG")" ] ||
      _k_missing="$_k_missing $LAZYIDLE_KERNEL_IMAGE_PKG" ;;
  esac
  if [ -n "$_k_missing" ]; then
    if [ $_k_install -eq 1 ]; then
      # shellcheck disable=SC2086
      lazyidle_need_packages $_k_missing || { echo "kernel $_k_series: cannot install$_k_missing" >&2; return 1; }
    else
      echo "kernel $_k_series: not installed:$_k_missing (version $LAZYIDLE_KERNEL_DEB_VERSION, the one of $LAZYIDLE_KERNEL_SOURCE_PKG)" >&2
      return 1
    fi
  fi

  # What the packages promise, checked on disk.
  case $_k_parts in *source*)
    [ -r "$LAZYIDLE_KERNEL_TARBALL" ] ||
      { echo "kernel $_k_series: $LAZYIDLE_KERNEL_TARBALL missing (reinstall $LAZYIDLE_KERNEL_SOURCE_PKG)" >&2; return 1; } ;;
  esac
  case $_k_parts in *headers*)
    # UTS_RELEASE is what modules built there are stamped with (vermagic);
    # Debian's include/config/kernel.release holds the upstream version instead.
    _k_release=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$LAZYIDLE_KERNEL_KDIR/include/generated/utsrelease.h" 2>/dev/null)
    [ "$_k_release" = "$LAZYIDLE_KERNEL_RELEASE" ] ||
      { echo "kernel $_k_series: $LAZYIDLE_KERNEL_KDIR is kernel release '$_k_release', $LAZYIDLE_KERNEL_HEADERS_PKG says $LAZYIDLE_KERNEL_RELEASE" >&2; return 1; } ;;
  esac
  case $_k_parts in *image*)
    [ -r "$LAZYIDLE_KERNEL_VMLINUZ" ] ||
      { echo "kernel $_k_series: $LAZYIDLE_KERNEL_VMLINUZ missing or unreadable (from $LAZYIDLE_KERNEL_IMAGE_PKG)" >&2; return 1; } ;;
  esac
  return 0
}

lazyidle_kernel_lines() {
  sed "s/^/$LAZYIDLE_KERNEL_TAG /"
}
