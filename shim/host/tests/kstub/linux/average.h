/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The arithmetic of the kernel's DECLARE_EWMA (include/linux/average.h). */
#ifndef LAZYIDLE_KSTUB_AVERAGE_H
#define LAZYIDLE_KSTUB_AVERAGE_H
#define DECLARE_EWMA(name, _precision, _weight_rcp)				\
	struct ewma_##name { unsigned long internal; };				\
	static inline void ewma_##name##_init(struct ewma_##name *e)		\
	{ e->internal = 0; }							\
	static inline unsigned long ewma_##name##_read(struct ewma_##name *e)	\
	{ return e->internal >> (_precision); }					\
	static inline void ewma_##name##_add(struct ewma_##name *e,		\
					     unsigned long val)			\
	{									\
		unsigned long internal = e->internal;				\
		unsigned long weight_rcp = __builtin_ctzl(_weight_rcp);		\
		e->internal = internal ?					\
			(((internal << weight_rcp) - internal) +		\
			 (val << (_precision))) >> weight_rcp :			\
			(val << (_precision));					\
	}
#endif
