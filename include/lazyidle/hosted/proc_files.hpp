// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// The few kernel files the machine guards read, and their parsers.
//
// Every read is open + read + close into the caller's buffer: no stdio, no
// heap, no file descriptor kept between reads, errno left as it was. That
// is what the preload library needs (it runs inside programs that close
// every descriptor they do not know when they daemonise, and it may run in
// a signal handler), and at one read per 20 ms or more the 3-5 us of an
// open/close pair is noise. The parsers are pure functions over text so
// the tests feed them the kernel's formats directly.
#ifndef LAZYIDLE_HOSTED_PROC_FILES_HPP
#define LAZYIDLE_HOSTED_PROC_FILES_HPP

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <lazyidle/arith.hpp>

namespace lazyidle::hosted {

// Reads up to size - 1 bytes of path into buffer, NUL-terminated. Returns
// the length, or -1 (errno preserved either way).
inline long read_small_file(const char* path, char* buffer, unsigned long size) {
  const int saved_errno = errno;
  long length = -1;
  const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd >= 0) {
    unsigned long filled = 0;
    while (filled + 1 < size) {
      const ssize_t n = read(fd, buffer + filled, size - 1 - filled);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      filled += static_cast<unsigned long>(n);
    }
    buffer[filled] = '\0';
    length = static_cast<long>(filled);
    close(fd);
  }
  errno = saved_errno;
  return length;
}

namespace parse {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Decimal at *p (after spaces); advances p. False when there is no number.
inline bool number(const char*& p, u64& value) {
  while (*p == ' ' || *p == '\t') ++p;
  if (!is_digit(*p)) return false;
  u64 v = 0;
  while (is_digit(*p)) v = sat_add(sat_mul(v, 10), static_cast<u64>(*p++ - '0'));
  value = v;
  return true;
}

inline bool starts_with(const char* text, const char* prefix) {
  while (*prefix)
    if (*text++ != *prefix++) return false;
  return true;
}

// /proc/loadavg: "0.52 0.40 0.17 2/90 4359" -> 2 (runnable now, the caller included).
inline bool loadavg_running(const char* text, u64& running) {
  const char* p = text;
  for (int field = 0; field < 3; ++field) {
    while (*p && *p != ' ') ++p;
    if (!*p) return false;
    ++p;
  }
  return number(p, running) && *p == '/';
}

// /proc/stat first line: "cpu user nice system idle iowait irq softirq steal ...".
inline bool stat_totals(const char* text, u64& total, u64& steal) {
  if (!starts_with(text, "cpu ")) return false;
  const char* p = text + 4;
  u64 sum = 0, stolen = 0;
  for (int field = 0; field < 8; ++field) {
    u64 v;
    if (!number(p, v)) return false;
    sum = sat_add(sum, v);
    if (field == 7) stolen = v;
  }
  total = sum;
  steal = stolen;
  return true;
}

// cgroup v2 cpu.max: "max 100000" (no limit) or "150000 100000" (1.5 CPUs).
// quota = no_bound for "max".
inline bool cpu_max(const char* text, u64& quota, u64& period) {
  const char* p = text;
  if (starts_with(p, "max")) {
    quota = no_bound;
    p += 3;
  } else if (!number(p, quota)) {
    return false;
  }
  return number(p, period) && period > 0;
}

// CPUs a quota allows, rounded up: 150000/100000 -> 2. no_bound for no quota.
inline u64 quota_cpus(u64 quota, u64 period) {
  if (quota == no_bound || period == 0) return no_bound;
  return max_of<u64>(1, (quota + period - 1) / period);
}

// /proc/self/cgroup on a cgroup v2 host: "0::/user.slice/foo.scope\n".
// Copies the path (starting with '/') into out. False on v1-only hosts.
inline bool cgroup_v2_path(const char* text, char* out, unsigned long size) {
  const char* p = text;
  while (*p) {
    if (starts_with(p, "0::")) {
      p += 3;
      unsigned long n = 0;
      while (p[n] && p[n] != '\n') ++n;
      if (n == 0 || n + 1 > size || p[0] != '/') return false;
      for (unsigned long i = 0; i < n; ++i) out[i] = p[i];
      out[n] = '\0';
      return true;
    }
    while (*p && *p != '\n') ++p;
    if (*p) ++p;
  }
  return false;
}

// cgroup v2 cpu.stat: the "throttled_usec N" line (0 when absent: no quota
// was ever enforced there).
inline bool cpu_stat_throttled_usec(const char* text, u64& usec) {
  const char* p = text;
  while (*p) {
    if (starts_with(p, "throttled_usec ")) {
      p += 15;
      return number(p, usec);
    }
    while (*p && *p != '\n') ++p;
    if (*p) ++p;
  }
  usec = 0;
  return true;
}

// /proc/thread-self/schedstat: "runtime_ns run_delay_ns timeslices".
inline bool schedstat_run_delay(const char* text, u64& run_delay_ns) {
  const char* p = text;
  u64 runtime;
  return number(p, runtime) && number(p, run_delay_ns);
}

}  // namespace parse
}  // namespace lazyidle::hosted

#endif
