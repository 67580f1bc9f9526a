/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
#ifndef LAZYIDLE_MOCK_TICK_H
#define LAZYIDLE_MOCK_TICK_H
#include <linux/ktime.h>
ktime_t tick_nohz_get_sleep_length(ktime_t *delta_next);
#endif
