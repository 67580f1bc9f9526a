#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
#
# Builds and runs replay_test: the C port (lazyidle.h, as C) against the
# module's C++ glue (lazyidle_core.cpp, hosted build of the same source),
# over the captured guest trace and synthetic idles.
# Usage: run-replay-test.sh [TRACE.gz]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=$root/build/c-port-replay
trace=${1:-$root/tests/data/guest-idle-trace.txt.gz}
mkdir -p "$out"
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -c -o "$out/port_shim.o" "$here/port_shim.c"
g++ -std=gnu++20 -O2 -Wall -Wextra -Werror -I"$root/include" -c -o "$out/core.o" "$here/../lazyidle_core.cpp"
g++ -std=gnu++20 -O2 -Wall -Wextra -Werror -c -o "$out/replay_test.o" "$here/replay_test.cpp"
g++ -o "$out/replay_test" "$out/replay_test.o" "$out/core.o" "$out/port_shim.o"
if [ -f "$trace" ]; then "$out/replay_test" "$trace"; else "$out/replay_test"; fi
