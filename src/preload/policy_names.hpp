// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// The policy names the preload library and lazyidle-run both accept, in
// one place so the command refuses exactly what the library would.
#ifndef LAZYIDLE_PRELOAD_POLICY_NAMES_HPP
#define LAZYIDLE_PRELOAD_POLICY_NAMES_HPP

#include <errno.h>
#include <stdlib.h>
#include <string.h>

namespace lazyidle::preload {

enum class policy_kind { default_policy, break_even, haltpoll, kvm, fixed, always, never };

inline constexpr const char* policy_list = "default, break_even, haltpoll, kvm, fixed:NS, always, never";
inline constexpr unsigned long long max_fixed_ns = 10'000'000'000ull;  // 10 s

// True when text names a policy; fills kind (and fixed_ns for fixed:NS).
inline bool parse_policy_name(const char* text, policy_kind& kind, unsigned long long& fixed_ns) {
  struct named {
    const char* name;
    policy_kind kind;
  } names[] = {{"default", policy_kind::default_policy}, {"break_even", policy_kind::break_even},
               {"haltpoll", policy_kind::haltpoll},      {"kvm", policy_kind::kvm},
               {"always", policy_kind::always},          {"never", policy_kind::never}};
  for (const named& n : names)
    if (strcmp(text, n.name) == 0) {
      kind = n.kind;
      return true;
    }
  if (strncmp(text, "fixed:", 6) == 0 && text[6] >= '0' && text[6] <= '9') {
    char* end = nullptr;
    const int saved_errno = errno;
    errno = 0;
    const unsigned long long ns = strtoull(text + 6, &end, 10);
    const bool ok = errno == 0 && *end == '\0' && ns <= max_fixed_ns;
    errno = saved_errno;
    if (ok) {
      kind = policy_kind::fixed;
      fixed_ns = ns;
      return true;
    }
  }
  return false;
}

}  // namespace lazyidle::preload

#endif
