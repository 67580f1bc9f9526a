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
 *
 * Lifetime. With a poll function of the caller's, the waiter may see it
 * true and return before a waker has even entered lazyidle_idle_wake(), so
 * the info must outlive every lazyidle_idle_wake() call on it. With no poll
 * function (poll == NULL) the info waits for its own flag, which
 * lazyidle_idle_signal() sets: that call publishes the flag and finds out
 * whether the waiter is parked in one atomic operation and touches nothing
 * of the info after it but the futex wake system call, so the waiter may
 * free the info as soon as lazyidle_idle_poll() returns (the rule of
 * glibc's sem_post fix, bug 12674).
 */
#ifndef LAZYIDLE_C_IDLE_POLL_H
#define LAZYIDLE_C_IDLE_POLL_H

#ifdef __cplusplus
extern "C" {
#endif

#define LAZYIDLE_IDLE_POLL_PRIVATE_WORDS 96

struct lazyidle_idle_poll_info {
  int (*poll)(void* data); /* non-zero once the wait is over; called repeatedly; NULL: the info's own flag */
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

/* Returns 0 once info->poll(info->data) returned non-zero, or, with poll
 * NULL, once the info's flag is set; -22 (-EINVAL) when info is NULL. */
int lazyidle_idle_poll(struct lazyidle_idle_poll_info* info);

/* The same, giving up after timeout_ns nanoseconds: 0 once ready,
 * -110 (-ETIMEDOUT) when the time ran out first, -22 (-EINVAL) for NULL. */
int lazyidle_idle_poll_timeout(struct lazyidle_idle_poll_info* info, unsigned long long timeout_ns);

/* Call after making poll true. The info must outlive this call. */
void lazyidle_idle_wake(struct lazyidle_idle_poll_info* info);

/* For an info with poll == NULL: set its flag and wake the waiter. The
 * waiter may free the info as soon as it has returned; the flag stays set
 * until lazyidle_idle_reset() (called by the waiting thread). */
void lazyidle_idle_signal(struct lazyidle_idle_poll_info* info);
void lazyidle_idle_reset(struct lazyidle_idle_poll_info* info);

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
