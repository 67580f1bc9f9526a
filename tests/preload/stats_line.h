// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Reads one number from the library's stats file (LAZYIDLE_STATS=FILE: one
// JSON line per process, written at exit): the line of process pid, then
// "key": inside the object of function (e.g. "epoll_wait"), or at the top
// level when function is null. -1 when the line or the key is missing.
#ifndef LAZYIDLE_TESTS_PRELOAD_STATS_LINE_H
#define LAZYIDLE_TESTS_PRELOAD_STATS_LINE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

inline long stats_value(const char* path, int pid, const char* function, const char* key) {
  FILE* file = fopen(path, "r");
  if (!file) return -1;
  static char line[8192];
  char needle[64];
  snprintf(needle, sizeof needle, "{\"pid\":%d,", pid);
  long value = -1;
  while (fgets(line, sizeof line, file)) {
    if (strncmp(line, needle, strlen(needle)) != 0) continue;
    char at[64];
    const char* from = line;
    if (function) {
      snprintf(at, sizeof at, "\"%s\":{", function);
      from = strstr(line, at);
      if (!from) break;
    }
    snprintf(at, sizeof at, "\"%s\":", key);
    const char* field = strstr(from, at);
    if (field) value = strtol(field + strlen(at), nullptr, 10);
    break;
  }
  fclose(file);
  return value;
}

#endif
