// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// C API over lazyidle::hosted: the private words of lazyidle_idle_poll_info
// hold a park_channel (valid when all-zero, shared with wakers), a flag, and
// the waiting side's engine, constructed in place by the first
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

extern "C" int lazyidle_idle_poll(lazyidle_idle_poll_info* info) {
  if (!info || !info->poll) return -EINVAL;
  private_state* state = state_of(info);
  int (*const poll)(void*) = info->poll;
  void* const data = info->data;
  engine_of(state).wait_until(state->channel, [poll, data] { return poll(data) != 0; });
  return 0;
}

extern "C" void lazyidle_idle_wake(lazyidle_idle_poll_info* info) {
  if (info) state_of(info)->channel.notify();
}

extern "C" void lazyidle_idle_poll_get_stats(const lazyidle_idle_poll_info* info,
                                             lazyidle_idle_poll_stats* stats) {
  if (!info || !stats) return;
  *stats = lazyidle_idle_poll_stats{};
  const private_state* state = state_of(info);
  if (!state->initialised) {
    stats->wakes = state->channel.wakes.load(std::memory_order_relaxed);
    return;
  }
  const lazyidle::waiter_stats s =
      std::launder(reinterpret_cast<const engine*>(state->engine_storage))->stats(state->channel);
  *stats = {s.waits, s.polled, s.parks, s.wakes, s.block_cost_ns};
}
