# SPDX-License-Identifier: GPL-2.0-only OR MIT
# Sourced by the scripts: installs the Debian packages a step needs, only
# when they are missing, so a fresh Debian 12 machine needs nothing by hand.

lazyidle_need_packages() {
  missing=""
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing="$missing $package"
  done
  [ -z "$missing" ] && return 0
  echo "lazyidle: installing$missing" >&2
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  if [ ! -e /var/lib/apt/lists/lock ] || [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v lock | head -1)" ]; then
    $sudo apt-get update -qq
  fi
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null; }
}

# What building and unit-testing the userspace side needs.
LAZYIDLE_BUILD_PACKAGES="g++ cmake make pkg-config doctest-dev libbenchmark-dev zlib1g-dev"
LAZYIDLE_PEER_PACKAGES="libabsl-dev libconcurrentqueue-dev libtbb-dev"
LAZYIDLE_CHECK_PACKAGES="clang libclang-rt-14-dev spin"
# The real-server smoke test of the preload library (tests/servers).
LAZYIDLE_SERVER_SMOKE_PACKAGES="python3 redis-server redis-tools sockperf"

lazyidle_nproc() { nproc 2>/dev/null || echo 2; }
