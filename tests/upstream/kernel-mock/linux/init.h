/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
#ifndef LAZYIDLE_MOCK_INIT_H
#define LAZYIDLE_MOCK_INIT_H
#define __init
/* The harness calls the governor's initcall through this. */
#define postcore_initcall(fn)		\
	int lazyidle_mock_initcall(void);	\
	int lazyidle_mock_initcall(void) { return fn(); }
#endif
