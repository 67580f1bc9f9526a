/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The few kernel types lazyidle_algo.h uses, for compiling it in userspace
 * (tests only: this directory is on the include path of the C replay shim
 * alone). u64 is unsigned long long, as in the kernel on every architecture.
 */
#ifndef LAZYIDLE_TEST_LINUX_TYPES_H
#define LAZYIDLE_TEST_LINUX_TYPES_H

#include <stdbool.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef unsigned long long u64;
typedef int32_t s32;
typedef long long s64;

#endif
