/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
#ifndef LAZYIDLE_MOCK_MODULE_H
#define LAZYIDLE_MOCK_MODULE_H
#include <linux/init.h>
#include <linux/kernel.h>
/* Parameters: the harness sets the variable directly (it is in the same TU). */
#define module_param(name, type, perm)
#define MODULE_PARM_DESC(name, desc)
struct kernel_param;
struct kernel_param_ops {
	int (*set)(const char *val, const struct kernel_param *kp);
	int (*get)(char *buffer, const struct kernel_param *kp);
};
static inline int param_set_uint_minmax(const char *val, const struct kernel_param *kp,
					unsigned int min, unsigned int max)
{
	(void)val; (void)kp; (void)min; (void)max;
	return 0;
}
static inline int param_get_uint(char *buffer, const struct kernel_param *kp)
{
	(void)buffer; (void)kp;
	return 0;
}
#define module_param_cb(name, ops, arg, perm) \
	static const struct kernel_param_ops *const name##_param_ops __attribute__((unused)) = (ops)
#endif
