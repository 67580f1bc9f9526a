// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// The one seam between the core and its three hosts (a Linux module, KVM,
// userspace). The core includes nothing but its own headers: the fixed-width
// types come from compiler builtins so the same text compiles with
// -ffreestanding -nostdinc -nostdinc++ inside a kernel module.
#ifndef LAZYIDLE_CONFIG_HPP
#define LAZYIDLE_CONFIG_HPP

#if defined(__STDC_HOSTED__) && __cplusplus < 202002L
#error "lazyidle needs C++20 (-std=gnu++20 or -std=c++20)"
#endif

#define LAZYIDLE_ALWAYS_INLINE inline __attribute__((always_inline))
#define LAZYIDLE_LIKELY(x) __builtin_expect(!!(x), 1)
#define LAZYIDLE_UNLIKELY(x) __builtin_expect(!!(x), 0)

// Marks a function whose unsigned wrap-around is the algorithm (hashing,
// RNG), so clang's -fsanitize=integer keeps flagging every other wrap.
#if defined(__clang__)
#define LAZYIDLE_WRAPS_ON_PURPOSE __attribute__((no_sanitize("unsigned-integer-overflow", "unsigned-shift-base")))
#else
#define LAZYIDLE_WRAPS_ON_PURPOSE
#endif

namespace lazyidle {

using u8 = __UINT8_TYPE__;
using u16 = __UINT16_TYPE__;
using u32 = __UINT32_TYPE__;
// Kernel u64 is unsigned long long on every architecture; match it so the C
// glue can pass pointers to u64 without casts.
using u64 = unsigned long long;
using i32 = __INT32_TYPE__;
using i64 = long long;

// Durations are plain nanosecond counts: the kernel hands us u64 ns
// (local_clock, ktime) and userspace converts once at the edge.
using duration_ns = u64;

inline constexpr duration_ns no_bound = ~0ull;  // "no next-timer bound known"
inline constexpr u64 u64_max = ~0ull;
inline constexpr u32 u32_max = ~0u;

// Fixed-point fractions: 1024 means 1.0. Chosen over per-mille because the
// hot paths divide by it and a shift is cheaper than a division in a kernel.
inline constexpr u32 q10_one = 1024;

}  // namespace lazyidle

#endif
