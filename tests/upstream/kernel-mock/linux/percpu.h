/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
#ifndef LAZYIDLE_MOCK_PERCPU_H
#define LAZYIDLE_MOCK_PERCPU_H
#define LAZYIDLE_MOCK_NR_CPUS	2
extern unsigned int lazyidle_mock_cpu;	/* the CPU "this_cpu" is */
#define DEFINE_PER_CPU(type, name)	type name[LAZYIDLE_MOCK_NR_CPUS]
#define per_cpu_ptr(ptr, cpu)		(&(*(ptr))[(cpu)])
#define this_cpu_ptr(ptr)		per_cpu_ptr(ptr, lazyidle_mock_cpu)
#endif
