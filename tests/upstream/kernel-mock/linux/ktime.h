/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
#ifndef LAZYIDLE_MOCK_KTIME_H
#define LAZYIDLE_MOCK_KTIME_H
#include <linux/types.h>
typedef s64 ktime_t;
#define NSEC_PER_USEC	1000L
static inline s64 ktime_to_ns(ktime_t kt)
{
	return kt;
}
#ifndef NSEC_PER_MSEC
#define NSEC_PER_MSEC 1000000L
#endif
#endif
