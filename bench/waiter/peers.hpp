// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Every waiting mechanism the benchmark compares, behind one interface:
//
//   template <class P> void wait(P pred);   // return once pred() is true (one waiting thread)
//   void notify();                          // after making pred true
//   static constexpr const char* name;
//   double nominal_budget_ns;               // poll budget before blocking (DESIGN §5), for the
//                                           // modelled competitive ratio; < 0 = unknown
//
// Each peer is used the way its documentation says to wait for a condition
// that lives outside it; none is given an advantage the others lack.
#ifndef LAZYIDLE_BENCH_WAITER_PEERS_HPP
#define LAZYIDLE_BENCH_WAITER_PEERS_HPP

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>

#include <absl/synchronization/mutex.h>
#include <concurrentqueue/concurrentqueue.h>  // defines the macros lightweightsemaphore.h uses
#include <concurrentqueue/lightweightsemaphore.h>
#include <tbb/concurrent_queue.h>

#include <lazyidle/hosted/wait.hpp>
#if __has_include(<lazyidle/policy/prediction_augmented.hpp>)
#include <lazyidle/policy/prediction_augmented.hpp>
#define LAZYIDLE_BENCH_HAVE_PREDICTION_AUGMENTED 1
#endif
namespace bench {

using lazyidle::u32;
using lazyidle::u64;
inline constexpr double forever = std::numeric_limits<double>::infinity();

struct pure_spin {
  static constexpr const char* name = "spin";
  static constexpr double nominal_budget_ns = forever;
  template <class P>
  void wait(P pred) {
    while (!pred()) lazyidle::hosted::cpu_relax();
  }
  void notify() {}
};

// The textbook futex event: never spins, the notifier always wakes.
struct plain_futex {
  static constexpr const char* name = "futex";
  static constexpr double nominal_budget_ns = 0;
  std::atomic<u32> sequence{0};
  template <class P>
  void wait(P pred) {
    while (!pred()) {
      const u32 seen = sequence.load(std::memory_order_seq_cst);
      if (pred()) return;
      lazyidle::hosted::futex_wait(sequence, seen);
    }
  }
  void notify() {
    sequence.fetch_add(1, std::memory_order_seq_cst);
    lazyidle::hosted::futex_wake(sequence, 1);
  }
};

struct std_condvar {
  static constexpr const char* name = "condvar";
  static constexpr double nominal_budget_ns = 0;
  std::mutex mutex;
  std::condition_variable cv;
  template <class P>
  void wait(P pred) {
    if (pred()) return;
    std::unique_lock lock(mutex);
    cv.wait(lock, pred);
  }
  void notify() {
    { std::lock_guard lock(mutex); }  // orders the predicate's write against a waiter between check and sleep
    cv.notify_one();
  }
};

// libstdc++ 12: 12 pause + 4 yield (~4 µs) then a futex (DESIGN §5).
struct std_atomic_wait {
  static constexpr const char* name = "atomic_wait";
  static constexpr double nominal_budget_ns = 4000;
  std::atomic<u32> sequence{0};
  template <class P>
  void wait(P pred) {
    while (!pred()) {
      const u32 seen = sequence.load(std::memory_order_seq_cst);
      if (pred()) return;
      sequence.wait(seen, std::memory_order_seq_cst);
    }
  }
  void notify() {
    sequence.fetch_add(1, std::memory_order_seq_cst);
    sequence.notify_one();
  }
};

// glibc PTHREAD_MUTEX_ADAPTIVE_NP (spins <= 100 pauses with an EWMA) + condvar.
struct glibc_adaptive {
  static constexpr const char* name = "adaptive";
  static constexpr double nominal_budget_ns = 3000;
  pthread_mutex_t mutex;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  glibc_adaptive() {
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&mutex, &attributes);
    pthread_mutexattr_destroy(&attributes);
  }
  ~glibc_adaptive() {
    pthread_cond_destroy(&cv);
    pthread_mutex_destroy(&mutex);
  }
  template <class P>
  void wait(P pred) {
    if (pred()) return;
    pthread_mutex_lock(&mutex);
    while (!pred()) pthread_cond_wait(&cv, &mutex);
    pthread_mutex_unlock(&mutex);
  }
  void notify() {
    pthread_mutex_lock(&mutex);
    pthread_mutex_unlock(&mutex);
    pthread_cond_signal(&cv);
  }
};

// absl::Mutex re-evaluates waiters' conditions on unlock (~2 µs spin).
struct absl_mutex {
  static constexpr const char* name = "absl";
  static constexpr double nominal_budget_ns = 2000;
  absl::Mutex mutex;
  template <class P>
  static bool call(P* pred) {
    return (*pred)();
  }
  template <class P>
  void wait(P pred) {
    if (pred()) return;
    mutex.LockWhen(absl::Condition(&call<P>, &pred));
    mutex.Unlock();
  }
  void notify() {
    mutex.Lock();
    mutex.Unlock();
  }
};

// moodycamel LightweightSemaphore: spins ~10k iterations (4-8 µs here) then a semaphore.
struct moodycamel_semaphore {
  static constexpr const char* name = "moodycamel";
  static constexpr double nominal_budget_ns = 6000;
  moodycamel::LightweightSemaphore semaphore;
  template <class P>
  void wait(P pred) {
    while (!pred()) semaphore.wait();
  }
  void notify() { semaphore.signal(); }
};

// oneTBB concurrent_bounded_queue as a one-slot token channel. A failed
// try_push (slot full) counts on the waiter taking that token and then
// seeing pred. But try_push reads the pop counter relaxed, after the
// caller's release store of pred: on x86 that store can still be in the
// store buffer while a pop claims the stale token and reads the old pred,
// and both sides miss each other (seen: 5 of 30 runs of `bench_waiter
// --only pingpong,pinned --peers tbb` hung in pop). The fence orders pred
// before the look at the counter; pop's claim is a locked RMW.
struct tbb_bounded_queue {
  static constexpr const char* name = "tbb";
  static constexpr double nominal_budget_ns = -1;  // spin_wait backoff, not documented as time
  tbb::concurrent_bounded_queue<char> queue;
  tbb_bounded_queue() { queue.set_capacity(1); }
  template <class P>
  void wait(P pred) {
    while (!pred()) {
      char token;
      queue.pop(token);
    }
  }
  void notify() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    queue.try_push(0);
  }
};

// bench_regimes --trace: the next lazyidle peer constructed records its
// waits here (the consumer's, not the echo's).
inline lazyidle::wait_trace* trace_next_lazyidle = nullptr;

template <class Governor, const char* Name>
struct lazyidle_peer {
  static constexpr const char* name = Name;
  static constexpr double nominal_budget_ns = -1;  // it logs its own decisions
  static lazyidle::waiter_options traced_options() {
    lazyidle::waiter_options options;
    options.trace = trace_next_lazyidle;
    return options;
  }
  lazyidle_peer() : waiter(traced_options()) {}
  lazyidle::basic_waiter<Governor> waiter;
  template <class P>
  void wait(P pred) {
    waiter.wait_until(pred);
  }
  void notify() { waiter.notify(); }
};

inline constexpr char lazyidle_default_name[] = "lazyidle";
using lazyidle_default = lazyidle_peer<lazyidle::default_governor, lazyidle_default_name>;

// The other policies, each with the predictor the library pairs it with.
inline constexpr char lazyidle_be_name[] = "lazyidle+be";
using lazyidle_break_even =
    lazyidle_peer<lazyidle::governor<lazyidle::last_value_predictor, lazyidle::break_even>, lazyidle_be_name>;
#ifdef LAZYIDLE_BENCH_HAVE_PREDICTION_AUGMENTED
inline constexpr char lazyidle_pa_name[] = "lazyidle+pa";
using lazyidle_prediction_augmented =
    lazyidle_peer<lazyidle::governor<lazyidle::default_predictor_for_t<lazyidle::prediction_augmented>,
                                     lazyidle::prediction_augmented>,
                  lazyidle_pa_name>;
#endif

template <class T>
inline constexpr bool is_lazyidle = false;
template <class G, const char* N>
inline constexpr bool is_lazyidle<lazyidle_peer<G, N>> = true;

template <class... Peers>
struct peer_list {};

using all_peers = peer_list<pure_spin, plain_futex, std_condvar, std_atomic_wait, glibc_adaptive, absl_mutex,
                            moodycamel_semaphore, tbb_bounded_queue, lazyidle_default, lazyidle_break_even
#ifdef LAZYIDLE_BENCH_HAVE_PREDICTION_AUGMENTED
                            ,
                            lazyidle_prediction_augmented
#endif
                            >;

}  // namespace bench

#endif
