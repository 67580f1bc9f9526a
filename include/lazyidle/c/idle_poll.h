/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The talk's lazy context switching interface (DESIGN §1), for C.
 *
 *   static int ready(void *data) { return atomic_load((atomic_int *)data) != 0; }
 *   struct lazyidle_idle_poll_info info = LAZYIDLE_IDLE_POLL_INFO_INIT(ready, &flag);
 *   lazyidle_idle_poll(&info);             // waiting thread: returns 0 once ready() != 0
 *   atomic_store(&flag, 1); lazyidle_idle_wake(&info);   // any other thread
 *
 * lazyidle_idle_poll() polls while the wait is predicted short and parks on
 * a futex when it is predicted long, with the library's default governor
 * and a block cost it measures itself (docs/waiter.md). One thread may wait
 * on an info at a time; any number may wake it. lazyidle_idle_wake() makes
 * no system call unless the waiter is parked. A zero-initialised info (plus
 * poll and data) is ready to use; the private words must not be touched.
 * The kernel shim exports the same two names with the same meaning.
 */
#ifndef LAZYIDLE_C_IDLE_POLL_H
#define LAZYIDLE_C_IDLE_POLL_H

#ifdef __cplusplus
extern "C" {
#endif

#define LAZYIDLE_IDLE_POLL_PRIVATE_WORDS 48

struct lazyidle_idle_poll_info {
  int (*poll)(void* data); /* non-zero once the wait is over; called repeatedly */
  void* data;
  /* private state: zero-initialise, never touch */
  unsigned long long lazyidle_private[LAZYIDLE_IDLE_POLL_PRIVATE_WORDS];
};

#define LAZYIDLE_IDLE_POLL_INFO_INIT(poll_function, poll_data) \
  {                                                            \
    (poll_function), (poll_data), { 0 }                        \
  }

/* Fills info as LAZYIDLE_IDLE_POLL_INFO_INIT does. */
void lazyidle_idle_poll_init(struct lazyidle_idle_poll_info* info, int (*poll)(void* data), void* data);

/* Returns 0 once info->poll(info->data) returned non-zero; -22 (-EINVAL)
 * when info or info->poll is NULL. */
int lazyidle_idle_poll(struct lazyidle_idle_poll_info* info);

/* Call after making poll true. */
void lazyidle_idle_wake(struct lazyidle_idle_poll_info* info);

/* Counters of the waiting side, read by the waiting thread (or after it
 * stopped): waits that found poll false, of those satisfied while polling,
 * futex parks, futex wakes, and the learned block cost B in ns. */
struct lazyidle_idle_poll_stats {
  unsigned long long waits, polled, parks, wakes, block_cost_ns;
};
void lazyidle_idle_poll_get_stats(const struct lazyidle_idle_poll_info* info,
                                  struct lazyidle_idle_poll_stats* stats);

#ifdef __cplusplus
}
#endif

#endif
