// SPDX-License-Identifier: GPL-2.0-only OR MIT
// A library whose constructor starts a thread that makes interposed calls
// at once: the dynamic loader runs the constructors of a program's own
// libraries before the preloaded one's, so these calls reach
// liblazyidle-preload.so before its constructor has run.
#ifndef LAZYIDLE_TESTS_PRELOAD_EARLY_THREAD_H
#define LAZYIDLE_TESTS_PRELOAD_EARLY_THREAD_H
extern "C" {
// Lets the thread finish its last wait, joins it; returns its wrong results.
int early_thread_finish();
}
#endif
