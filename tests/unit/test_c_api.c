/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The C API, from C: argument checks, a wait that is already satisfied, and
 * 10^5 hand-offs between two threads through two lazyidle_idle_poll_info
 * (one zero-initialised, one set up by lazyidle_idle_poll_init). A lost
 * wakeup hangs; ctest's timeout turns that into a failure. */
#include <lazyidle/c/idle_poll.h>

#include <pthread.h>
#include <stdatomic.h>
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
};

static int token_is(void* data) {
  struct side* s = data;
  return atomic_load_explicit(s->token, memory_order_acquire) == s->want;
}

enum { handoffs = 100000 };
static atomic_ullong token;
static struct side odd_side, even_side;

static void* odd_thread(void* arg) {
  (void)arg;
  for (unsigned long long v = 0; v < handoffs; v += 2) {
    odd_side.want = v;
    lazyidle_idle_poll(&odd_side.info);
    atomic_store_explicit(&token, v + 1, memory_order_release);
    lazyidle_idle_wake(&even_side.info);
  }
  return NULL;
}

static void* even_thread(void* arg) {
  (void)arg;
  for (unsigned long long v = 1; v < handoffs; v += 2) {
    even_side.want = v;
    lazyidle_idle_poll(&even_side.info);
    atomic_store_explicit(&token, v + 1, memory_order_release);
    lazyidle_idle_wake(&odd_side.info);
  }
  return NULL;
}

static int always(void* data) {
  (*(int*)data)++;
  return 1;
}

int main(void) {
  /* Argument checks. */
  CHECK(lazyidle_idle_poll(NULL) == -22);
  struct lazyidle_idle_poll_info no_poll;
  memset(&no_poll, 0, sizeof no_poll);
  CHECK(lazyidle_idle_poll(&no_poll) == -22);
  lazyidle_idle_wake(NULL); /* must not crash */

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

  struct lazyidle_idle_poll_stats odd_stats, even_stats;
  lazyidle_idle_poll_get_stats(&odd_side.info, &odd_stats);
  lazyidle_idle_poll_get_stats(&even_side.info, &even_stats);
  CHECK(odd_stats.waits <= handoffs / 2);
  CHECK(odd_stats.polled <= odd_stats.waits);
  CHECK(odd_stats.block_cost_ns > 0);
  CHECK(even_stats.block_cost_ns > 0);
  printf(
      "C API: %d hand-offs; waits %llu+%llu, polled %llu+%llu, parks %llu+%llu, futex wakes %llu+%llu, B "
      "%llu/%llu ns\n",
      handoffs, odd_stats.waits, even_stats.waits, odd_stats.polled, even_stats.polled, odd_stats.parks,
      even_stats.parks, odd_stats.wakes, even_stats.wakes, odd_stats.block_cost_ns, even_stats.block_cost_ns);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
