/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The C API, from C: argument checks, a wait that is already satisfied, a
 * timed wait that times out (and not before its time), the flag mode, and
 * 10^5 hand-offs between two threads through two lazyidle_idle_poll_info
 * (one zero-initialised, one set up by lazyidle_idle_poll_init), whose
 * counters must account for every wait the test itself counted. A lost
 * wakeup hangs: alarm() kills the process after 60 s, a failure. */
#include <lazyidle/c/idle_poll.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      failures++;                                                              \
    }                                                                          \
  } while (0)

struct side {
  struct lazyidle_idle_poll_info info;
  atomic_ullong* token;
  unsigned long long want;
  unsigned long long calls_this_wait, waits_seen; /* waits whose first poll() was false */
};

static int token_is(void* data) {
  struct side* s = data;
  const int ready = atomic_load_explicit(s->token, memory_order_acquire) == s->want;
  if (s->calls_this_wait++ == 0 && !ready) s->waits_seen++;
  return ready;
}

static unsigned long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
}

enum { handoffs = 100000 };
static atomic_ullong token;
static struct side odd_side, even_side;

static void* odd_thread(void* arg) {
  (void)arg;
  for (unsigned long long v = 0; v < handoffs; v += 2) {
    odd_side.want = v;
    odd_side.calls_this_wait = 0;
    CHECK(lazyidle_idle_poll(&odd_side.info) == 0);
    atomic_store_explicit(&token, v + 1, memory_order_release);
    lazyidle_idle_wake(&even_side.info);
  }
  return NULL;
}

static void* even_thread(void* arg) {
  (void)arg;
  for (unsigned long long v = 1; v < handoffs; v += 2) {
    even_side.want = v;
    even_side.calls_this_wait = 0;
    CHECK(lazyidle_idle_poll(&even_side.info) == 0);
    atomic_store_explicit(&token, v + 1, memory_order_release);
    lazyidle_idle_wake(&odd_side.info);
  }
  return NULL;
}

static int always(void* data) {
  (*(int*)data)++;
  return 1;
}

static int never(void* data) {
  (void)data;
  return 0;
}

static struct lazyidle_idle_poll_info flag_info; /* poll == NULL: the flag mode */
static void* signal_later(void* arg) {
  (void)arg;
  usleep(2000);
  lazyidle_idle_signal(&flag_info);
  return NULL;
}

int main(void) {
  alarm(60);
  /* Argument checks. */
  CHECK(lazyidle_idle_poll(NULL) == -22);
  CHECK(lazyidle_idle_poll_timeout(NULL, 1000) == -22);
  lazyidle_idle_wake(NULL); /* must not crash */
  lazyidle_idle_signal(NULL);
  lazyidle_idle_reset(NULL);

  /* Already satisfied: returns 0 after one call, no wait counted. */
  int calls = 0;
  struct lazyidle_idle_poll_info ready = LAZYIDLE_IDLE_POLL_INFO_INIT(always, &calls);
  CHECK(lazyidle_idle_poll(&ready) == 0);
  CHECK(calls == 1);
  struct lazyidle_idle_poll_stats stats;
  lazyidle_idle_poll_get_stats(&ready, &stats);
  CHECK(stats.waits == 0);
  lazyidle_idle_wake(&ready); /* nobody parked: no futex wake */
  lazyidle_idle_poll_get_stats(&ready, &stats);
  CHECK(stats.wakes == 0);

  /* A timed wait that cannot succeed: -ETIMEDOUT, and not before 3 ms. */
  struct lazyidle_idle_poll_info stuck = LAZYIDLE_IDLE_POLL_INFO_INIT(never, NULL);
  const unsigned long long t0 = now_ns();
  CHECK(lazyidle_idle_poll_timeout(&stuck, 3000000) == -110);
  CHECK(now_ns() - t0 >= 3000000);
  lazyidle_idle_poll_get_stats(&stuck, &stats);
  CHECK(stats.waits == 1);

  /* The flag mode: times out while unset, returns once another thread
   * signals, stays set until reset. */
  CHECK(lazyidle_idle_poll_timeout(&flag_info, 1000000) == -110);
  pthread_t signaller;
  CHECK(pthread_create(&signaller, NULL, signal_later, NULL) == 0);
  CHECK(lazyidle_idle_poll(&flag_info) == 0);
  pthread_join(signaller, NULL);
  CHECK(lazyidle_idle_poll_timeout(&flag_info, 0) == 0);
  lazyidle_idle_reset(&flag_info);
  CHECK(lazyidle_idle_poll_timeout(&flag_info, 100000) == -110);

  /* Hand-offs. odd_side is zero-initialised (static) plus poll/data;
   * even_side goes through the init function. */
  odd_side.info.poll = token_is;
  odd_side.info.data = &odd_side;
  odd_side.token = &token;
  lazyidle_idle_poll_init(&even_side.info, token_is, &even_side);
  even_side.token = &token;
  pthread_t a, b;
  CHECK(pthread_create(&a, NULL, odd_thread, NULL) == 0);
  CHECK(pthread_create(&b, NULL, even_thread, NULL) == 0);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  CHECK(atomic_load(&token) == handoffs);

  /* Every wait the poll functions saw start is counted once. */
  struct lazyidle_idle_poll_stats odd_stats, even_stats;
  lazyidle_idle_poll_get_stats(&odd_side.info, &odd_stats);
  lazyidle_idle_poll_get_stats(&even_side.info, &even_stats);
  CHECK(odd_stats.waits == odd_side.waits_seen);
  CHECK(even_stats.waits == even_side.waits_seen);
  CHECK(odd_stats.polled <= odd_stats.waits);
  CHECK(even_stats.polled <= even_stats.waits);
  CHECK(odd_stats.wakes <= odd_stats.parks);
  CHECK(even_stats.wakes <= even_stats.parks);
  printf(
      "C API: %d hand-offs; waits %llu+%llu, polled %llu+%llu, parks %llu+%llu, futex wakes %llu+%llu, B "
      "%llu/%llu ns\n",
      handoffs, odd_stats.waits, even_stats.waits, odd_stats.polled, even_stats.polled, odd_stats.parks,
      even_stats.parks, odd_stats.wakes, even_stats.wakes, odd_stats.block_cost_ns, even_stats.block_cost_ns);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
