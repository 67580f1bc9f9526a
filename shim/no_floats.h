/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Force-included (-include) ahead of the lazyidle core wherever it is
 * compiled as kernel code (both shims) and by the core's freestanding check:
 * a float in the core then fails to compile instead of touching the FPU
 * state of the interrupted task. Kept out of include/lazyidle/ so the core
 * itself never names a floating-point type.
 */
#ifndef LAZYIDLE_SHIM_NO_FLOATS_H
#define LAZYIDLE_SHIM_NO_FLOATS_H
#pragma GCC poison float double
#endif
