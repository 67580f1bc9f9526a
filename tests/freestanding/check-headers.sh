#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
# Every core header must compile alone as kernel code would compile it: no
# standard library, no FPU/SSE registers, kernel code model. A header that
# leans on another's includes, or on <cstdint>, fails here before it fails
# inside a module build.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cxx=${CXX:-g++}
flags="-std=gnu++20 -ffreestanding -nostdinc -nostdinc++ -fno-exceptions -fno-rtti \
  -mgeneral-regs-only -mno-red-zone -mcmodel=kernel -fno-pic -fsyntax-only \
  -Wall -Wextra -Werror -include $root/shim/no_floats.h"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count=0
failed=0
for header in $(cd "$root/include" && find lazyidle -name '*.hpp' -not -path 'lazyidle/hosted/*' | sort); do
  printf '#include <%s>\n#include <%s>\n' "$header" "$header" > "$tmp/tu.cpp"
  if $cxx $flags -I "$root/include" "$tmp/tu.cpp" 2> "$tmp/err"; then
    count=$((count + 1))
  else
    echo "FAIL: $header does not compile freestanding:"; cat "$tmp/err"
    failed=$((failed + 1))
  fi
done
# The core must not reach for the standard library even transitively.
if grep -rnE '#include <(c?std|type_traits|utility|limits|atomic|cmath|algorithm|array|new)' \
    --include='*.hpp' "$root/include/lazyidle" | grep -v '/hosted/'; then
  echo "FAIL: a core header includes a standard header"; failed=$((failed + 1))
fi
echo "$count headers compiled freestanding, $failed failed"
[ "$failed" -eq 0 ] && [ "$count" -gt 0 ]
