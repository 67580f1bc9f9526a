/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
#ifndef LAZYIDLE_KSTUB_SEQ_FILE_H
#define LAZYIDLE_KSTUB_SEQ_FILE_H
#include <stdio.h>
struct seq_file { void *private; char buf[256]; };
#define seq_printf(m, ...) snprintf((m)->buf, sizeof((m)->buf), __VA_ARGS__)
#endif
