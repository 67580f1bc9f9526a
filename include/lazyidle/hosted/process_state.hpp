// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// What a process has learned, for the waits it has not made yet.
//
// A fresh governor knows nothing: it plays break-even (poll B, then block)
// until its savings account against break-even covers a bolder budget, a
// few dozen waits (distribution_threshold.hpp). A thread that starts late
// in a process that has already waited a million times need not pay that
// again, and neither should a server's hundredth connection thread. So a
// process keeps two things every waiter (and the preload library's
// per-thread governors) starts from:
//
//   block_cost_estimate   B = B_cpu + w*L, as EWMAs (1/8) of what real
//                         blocks cost in this process: the CPU a park/wake
//                         burns and the latency it adds. Each engine keeps
//                         its own copy (a pinned pair and a cross-CPU pair
//                         see different B) seeded from this one, and feeds
//                         every sample into both.
//   governor_prior<G>     a recent copy of a working governor's state (its
//                         histogram of idles and context estimates), which
//                         engines publish every 64 waits and new engines
//                         start from. The savings account comes along only
//                         up to 2 B: it was earned by another thread, which
//                         may still be spending it, so a waiter born from the
//                         prior may cost at most 2 B more than the every-prefix
//                         bound of its policy (2.125 x OPT for the default).
//
// Both are lock-free and tolerate lost updates (a sample dropped when two
// threads update at once changes an average by nothing that matters). The
// prior is a seqlock over relaxed atomic words, so readers never see a torn
// governor and ThreadSanitizer sees no race.
#ifndef LAZYIDLE_HOSTED_PROCESS_STATE_HPP
#define LAZYIDLE_HOSTED_PROCESS_STATE_HPP

#include <atomic>
#include <cstring>
#include <type_traits>

#include <lazyidle/arith.hpp>

namespace lazyidle::hosted {

class block_cost_estimate {
 public:
  static constexpr u32 weight_shift = 3;  // EWMA 1/8
  constexpr block_cost_estimate(u64 cpu_ns, u64 latency_ns) : cpu_ns_(cpu_ns), latency_ns_(latency_ns) {}

  u64 cpu_ns() const { return cpu_ns_.load(std::memory_order_relaxed); }
  u64 latency_ns() const { return latency_ns_.load(std::memory_order_relaxed); }
  u64 samples() const { return samples_.load(std::memory_order_relaxed); }

  void add_cpu(u64 sample_ns) { step(cpu_ns_, sample_ns); }
  void add_latency(u64 sample_ns) {
    step(latency_ns_, sample_ns);
    samples_.fetch_add(1, std::memory_order_relaxed);
  }
  // Forget what was learned (tests; the preload library after fork keeps it:
  // the child runs on the same machine).
  void reset(u64 cpu_ns, u64 latency_ns) {
    cpu_ns_.store(cpu_ns, std::memory_order_relaxed);
    latency_ns_.store(latency_ns, std::memory_order_relaxed);
    samples_.store(0, std::memory_order_relaxed);
  }

 private:
  static void step(std::atomic<u64>& average, u64 sample) {
    average.store(ewma_step(average.load(std::memory_order_relaxed), sample, weight_shift),
                  std::memory_order_relaxed);
  }
  std::atomic<u64> cpu_ns_;
  std::atomic<u64> latency_ns_;
  std::atomic<u64> samples_{0};
};

// DESIGN §9's futex park until this process has measured its own.
inline constinit block_cost_estimate process_block_cost{5'000, 10'000};

template <class Governor>
class governor_prior {
  static_assert(std::is_trivially_copyable_v<Governor>, "a prior is copied as bytes");
  static constexpr unsigned words = (sizeof(Governor) + 7) / 8;

 public:
  // Publish a copy. Skipped (not waited for) when another thread is
  // publishing: the prior is a recent state, not every state.
  void publish(const Governor& governor) {
    u32 sequence = sequence_.load(std::memory_order_relaxed);
    if ((sequence & 1u) ||
        !sequence_.compare_exchange_strong(sequence, sequence + 1, std::memory_order_acquire,
                                           std::memory_order_relaxed))
      return;
    // Orders the odd sequence before the words (Boehm, "Can seqlocks get
    // along with programming language memory models?", 2012).
    std::atomic_thread_fence(std::memory_order_release);
    u64 buffer[words] = {};
    std::memcpy(buffer, &governor, sizeof(Governor));
    for (unsigned i = 0; i < words; ++i) words_[i].store(buffer[i], std::memory_order_relaxed);
    sequence_.store(sequence + 2, std::memory_order_release);
  }

  // A consistent copy, or false when nothing was published (or a writer
  // kept the slot busy through every retry).
  bool read(Governor& out) const {
    for (int attempt = 0; attempt < 8; ++attempt) {
      const u32 before = sequence_.load(std::memory_order_acquire);
      if (before == 0) return false;
      if (before & 1u) continue;
      u64 buffer[words];
      for (unsigned i = 0; i < words; ++i) buffer[i] = words_[i].load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (sequence_.load(std::memory_order_relaxed) == before) {
        std::memcpy(static_cast<void*>(&out), buffer, sizeof(Governor));
        return true;
      }
    }
    return false;
  }

  bool published() const { return sequence_.load(std::memory_order_relaxed) != 0; }
  void clear() { sequence_.store(0, std::memory_order_relaxed); }

 private:
  std::atomic<u32> sequence_{0};  // odd while a copy is being written; 0: never published
  std::atomic<u64> words_[words] = {};
};

template <class Governor>
inline constinit governor_prior<Governor> process_prior{};

}  // namespace lazyidle::hosted

#endif
