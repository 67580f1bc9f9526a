// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// C API over lazyidle::hosted: the private words of lazyidle_idle_poll_info
// hold a park_channel (valid when all-zero, shared with wakers; bit 31 of
// its word is the flag lazyidle_idle_signal() sets), a flag, and the
// waiting side's engine, constructed in place by the first
// lazyidle_idle_poll() on the waiting thread. Wakers only ever touch the
// channel, so construction needs no synchronisation with them.
#include <lazyidle/c/idle_poll.h>

#include <cerrno>
#include <cstddef>
#include <new>

#include <lazyidle/hosted/wait.hpp>

namespace {

using engine = lazyidle::hosted::wait_engine<lazyidle::default_governor>;

struct private_state {
  lazyidle::hosted::park_channel channel;
  unsigned initialised;  // touched by the waiting thread only
  alignas(engine) unsigned char engine_storage[sizeof(engine)];
};

static_assert(sizeof(private_state) <= sizeof(unsigned long long) * LAZYIDLE_IDLE_POLL_PRIVATE_WORDS,
              "lazyidle_idle_poll_info: private words too few for the default governor's state");
static_assert(alignof(private_state) <= alignof(unsigned long long), "private state over-aligned for C");

private_state* state_of(lazyidle_idle_poll_info* info) {
  return std::launder(reinterpret_cast<private_state*>(info->lazyidle_private));
}
const private_state* state_of(const lazyidle_idle_poll_info* info) {
  return std::launder(reinterpret_cast<const private_state*>(info->lazyidle_private));
}
engine& engine_of(private_state* state) {
  if (!state->initialised) {
    new (state->engine_storage) engine();
    state->initialised = 1;
  }
  return *std::launder(reinterpret_cast<engine*>(state->engine_storage));
}

}  // namespace

extern "C" void lazyidle_idle_poll_init(lazyidle_idle_poll_info* info, int (*poll)(void*), void* data) {
  *info = lazyidle_idle_poll_info{poll, data, {}};
}

namespace {
int poll_until(lazyidle_idle_poll_info* info, lazyidle::u64 deadline_ns) {
  if (!info) return -EINVAL;
  private_state* state = state_of(info);
  int (*const poll)(void*) = info->poll;
  void* const data = info->data;
  lazyidle::hosted::park_channel& channel = state->channel;
  bool ready;
  if (poll)
    ready = lazyidle::hosted::wait_on(engine_of(state), channel, [poll, data] { return poll(data) != 0; }, deadline_ns);
  else
    ready = lazyidle::hosted::wait_on(
        engine_of(state), channel,
        [&channel] {
          return (channel.word.load(std::memory_order_acquire) & lazyidle::hosted::park_channel::flag_bit) != 0;
        },
        deadline_ns);
  return ready ? 0 : -ETIMEDOUT;
}
}  // namespace

extern "C" int lazyidle_idle_poll(lazyidle_idle_poll_info* info) { return poll_until(info, lazyidle::no_bound); }

extern "C" int lazyidle_idle_poll_timeout(lazyidle_idle_poll_info* info, unsigned long long timeout_ns) {
  return poll_until(info, lazyidle::sat_add(lazyidle::hosted::monotonic_ns(), timeout_ns));
}

extern "C" void lazyidle_idle_wake(lazyidle_idle_poll_info* info) {
  if (info) state_of(info)->channel.notify();
}

extern "C" void lazyidle_idle_signal(lazyidle_idle_poll_info* info) {
  if (info) state_of(info)->channel.publish_flag_and_wake();
}

extern "C" void lazyidle_idle_reset(lazyidle_idle_poll_info* info) {
  if (info)
    state_of(info)->channel.word.fetch_and(~lazyidle::hosted::park_channel::flag_bit, std::memory_order_relaxed);
}

extern "C" void lazyidle_idle_poll_get_stats(const lazyidle_idle_poll_info* info,
                                             lazyidle_idle_poll_stats* stats) {
  if (!info || !stats) return;
  *stats = lazyidle_idle_poll_stats{};
  const private_state* state = state_of(info);
  if (!state->initialised) return;
  const lazyidle::waiter_stats s = std::launder(reinterpret_cast<const engine*>(state->engine_storage))->stats();
  *stats = {s.waits, s.polled, s.parks, s.wakes, s.block_cost_ns};
}
