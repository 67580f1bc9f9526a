/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
#ifndef LAZYIDLE_MOCK_MODULE_H
#define LAZYIDLE_MOCK_MODULE_H
#include <linux/init.h>
#include <linux/kernel.h>
/* Parameters: the harness sets the variable directly (it is in the same TU). */
#define module_param(name, type, perm)
#define MODULE_PARM_DESC(name, desc)
#endif
