// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Whether liblazyidle-preload.so is mapped into this process: a test run
// "under the library" that is not must fail, not pass vacuously.
#ifndef LAZYIDLE_TESTS_PRELOAD_MAPPED_H
#define LAZYIDLE_TESTS_PRELOAD_MAPPED_H

#include <stdio.h>
#include <string.h>

inline bool preload_mapped() {
  FILE* maps = fopen("/proc/self/maps", "r");
  if (!maps) return false;
  char line[4096];
  bool found = false;
  while (fgets(line, sizeof line, maps))
    if (strstr(line, "liblazyidle-preload")) found = true;
  fclose(maps);
  return found;
}

#endif
