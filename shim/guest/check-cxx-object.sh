#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
#
# Fails when a C++ object (or the final .ko) carries something the kernel's
# module loader silently ignores or cannot resolve: constructor tables
# (.init_array/.ctors run nowhere, so a global object would stay
# uninitialised), unwind tables (.eh_frame: exceptions have no runtime here),
# and undefined C++ runtime or mangled symbols (__cxa_guard_* for statics,
# __cxa_pure_virtual, operator new/delete, __udivti3 for 128-bit division).
# Usage: check-cxx-object.sh OBJDUMP NM FILE...
set -eu
objdump=$1 nm=$2
shift 2
status=0
for object in "$@"; do
  sections=$($objdump -h "$object" | awk '{print $2}' |
    grep -E '^\.(init_array|fini_array|ctors|dtors|eh_frame|eh_frame_hdr|gcc_except_table)' || true)
  if [ -n "$sections" ]; then
    echo "$object: forbidden C++ runtime sections:" $sections >&2
    status=1
  fi
  undefined=$($nm -u "$object" | awk '{print $2}' |
    grep -E '^(_Z|__cxa_|__gxx_|_Unwind_|__udivti3|__divti3|__umodti3|__modti3|__dso_handle)' || true)
  if [ -n "$undefined" ]; then
    echo "$object: undefined C++ runtime symbols:" $undefined >&2
    status=1
  fi
done
exit $status
