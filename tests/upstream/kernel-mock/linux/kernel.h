/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
#ifndef LAZYIDLE_MOCK_KERNEL_H
#define LAZYIDLE_MOCK_KERNEL_H
#include <linux/types.h>
#define READ_ONCE(x)	(x)
#define __read_mostly
#endif
