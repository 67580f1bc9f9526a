// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// liblazyidle-preload.so: lazy context switching for unmodified programs.
//
// A server that blocks in epoll_wait/poll/select/recv pays, on every short
// request, a context switch and a wake-up (and in a VM a trap to the host):
// the talk's problem, at the layer where it can be measured for real. This
// library interposes those calls. Each one that would block is a wait: the
// calling thread's governor (the core's, a wait_engine per thread) gives a
// poll budget against the block cost B this process has measured; the
// library polls readiness without blocking (the same call with a zero
// timeout, or recv with MSG_DONTWAIT) for that budget, then makes the real
// blocking call with the time that remains, and reflects the whole wait.
// While a thread's waits block at once anyway, a multiplexer skips the
// try and makes the real call first (wait(), "Block first"): that try is a
// system call the peer it just woke may be queued behind.
// No second algorithm: this file is glue over include/lazyidle/.
//
// What the program sees is what the real call would have given it:
//   - every result comes from a real call on the program's own arguments:
//     a poll that finds something returns that call's result, and when the
//     budget is spent the real blocking call runs with the time that
//     remains (epoll_pwait2/ppoll/pselect carry it to the nanosecond, so a
//     timeout is never cut short and never extended by the polling);
//   - timeout 0, non-blocking descriptors, flags that change what a
//     receive waits for (MSG_WAITALL, MSG_DONTWAIT, MSG_OOB, MSG_ERRQUEUE),
//     sockets with SO_RCVTIMEO, and anything that is not a socket for
//     read/readv go straight to the real call;
//   - signals: while polling, the signals with handlers are held off
//     (pthread_sigmask) and sigpending() is checked on every round; one the
//     call would have let in (the p-variants' mask, else the thread's)
//     ends the polling and the real call takes it, so EINTR, SA_RESTART and
//     the p-variants' masks behave exactly as without the library (a
//     pending signal the program ignores is discarded, as the kernel would
//     have done without the hold);
//   - no allocation and no lock on the wait path: per-thread state is
//     initial-exec TLS constructed in place, process counters are relaxed
//     atomics; errno is the real call's, or left alone on success;
//   - fork: the child starts with zero counters and holds no lock (the
//     guards' sampler has its own atfork handler); a nested call from a
//     signal handler that interrupted a wrapped call passes straight
//     through; pthread_cancel unwinds through RAII that restores the mask.
//
// B for a process that cannot see its wakers: B_cpu is the thread CPU
// time across real blocking calls (sampled every 16th); L is measured by
// an occasional probe (at most one per 50 ms per process, only when the
// thread was going to block anyway, after a try): a ppoll on the same descriptors with
// a 100 us timeout, timer slack set to 1 ns for its duration and every
// signal held, whose lateness when it times out is how long this machine
// takes to get a blocked thread running again. A probe that sees an event
// just hands over to the real call.
//
// Policies (LAZYIDLE_POLICY, or lazyidle-run --policy): default,
// break_even, haltpoll, kvm, fixed:NS, always (poll until the call's own
// timeout: never block; no guards), never (pass-through).
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <new>

#include <lazyidle/hosted/wait_engine.hpp>

#include "policy_names.hpp"

namespace lazyidle::preload {
namespace {

// ---- the interposed functions ------------------------------------------------
enum function : unsigned {
  f_epoll_wait,
  f_epoll_pwait,
  f_epoll_pwait2,
  f_poll,
  f_ppoll,
  f_select,
  f_pselect,
  f_recv,
  f_recvfrom,
  f_recvmsg,
  f_read,
  f_readv,
  function_count
};
constexpr const char* function_names[function_count] = {"epoll_wait", "epoll_pwait", "epoll_pwait2", "poll",
                                                        "ppoll",      "select",      "pselect",      "recv",
                                                        "recvfrom",   "recvmsg",     "read",         "readv"};

struct real_functions {
  int (*epoll_wait)(int, epoll_event*, int, int);
  int (*epoll_pwait)(int, epoll_event*, int, int, const sigset_t*);
  int (*epoll_pwait2)(int, epoll_event*, int, const timespec*, const sigset_t*);
  int (*poll)(pollfd*, nfds_t, int);
  int (*ppoll)(pollfd*, nfds_t, const timespec*, const sigset_t*);
  int (*select)(int, fd_set*, fd_set*, fd_set*, timeval*);
  int (*pselect)(int, fd_set*, fd_set*, fd_set*, const timespec*, const sigset_t*);
  ssize_t (*recv)(int, void*, size_t, int);
  ssize_t (*recvfrom)(int, void*, size_t, int, sockaddr*, socklen_t*);
  ssize_t (*recvmsg)(int, msghdr*, int);
  ssize_t (*read)(int, void*, size_t);
  ssize_t (*readv)(int, const iovec*, int);
  int (*close)(int);
  int (*dup2)(int, int);
  int (*dup3)(int, int, int);
  int (*fcntl)(int, int, ...);
  int (*fcntl64)(int, int, ...);
  ssize_t (*read_chk)(int, void*, size_t, size_t);
  ssize_t (*recv_chk)(int, void*, size_t, size_t, int);
  ssize_t (*recvfrom_chk)(int, void*, size_t, size_t, int, sockaddr*, socklen_t*);
  int (*poll_chk)(pollfd*, nfds_t, int, size_t);
  int (*ppoll_chk)(pollfd*, nfds_t, const timespec*, const sigset_t*, size_t);
};
real_functions real{};

template <class F>
void resolve(F& slot, const char* name) {
  slot = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

// The kernel's sigset size, a size_t: through syscall()'s varargs an int
// leaves the register's upper half undefined (EINVAL under ASan).
constexpr size_t kernel_sigset_bytes = _NSIG / 8;

// The system calls themselves, for a C library without the wrapper
// (epoll_pwait2 is glibc 2.35+; the kernel may still have it, or say
// ENOSYS, which the epoll wait handles) and for calls that arrive while
// another thread is still resolving.
int raw_epoll_pwait2(int epfd, epoll_event* events, int maxevents, const timespec* timeout, const sigset_t* mask) {
  return static_cast<int>(syscall(SYS_epoll_pwait2, epfd, events, maxevents, timeout, mask, kernel_sigset_bytes));
}
int raw_ppoll(pollfd* fds, nfds_t nfds, const timespec* timeout, const sigset_t* mask) {
  timespec left{};  // the kernel writes the time left back; the C function's timeout is const
  if (timeout) left = *timeout;
  return static_cast<int>(syscall(SYS_ppoll, fds, nfds, timeout ? &left : nullptr, mask, kernel_sigset_bytes));
}
int raw_pselect(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, const timespec* timeout,
                const sigset_t* mask) {
  // pselect6 writes the time left back; the C function's timeout is const.
  timespec left{};
  if (timeout) left = *timeout;
  struct {
    const sigset_t* mask;
    size_t size;
  } mask_argument{mask, kernel_sigset_bytes};
  return static_cast<int>(syscall(SYS_pselect6, nfds, readfds, writefds, exceptfds, timeout ? &left : nullptr,
                                  mask ? &mask_argument : nullptr));
}

// 0: not started, 1: resolving (a call from inside dlsym passes to the raw
// system call), 2: ready.
std::atomic<int> init_state{0};

// A pointer in `real` may be read only once resolution has finished (the
// acquire pairs with initialise()'s release): a call that comes while
// another thread is still resolving, such as one from a thread a library
// constructor started before ours ran, takes the system call instead.
template <class F>
bool use_real(const F& f) {  // by reference: the pointer is read after the check
  return init_state.load(std::memory_order_acquire) == 2 && f != nullptr;
}

void resolve_all() {
  resolve(real.epoll_wait, "epoll_wait");
  resolve(real.epoll_pwait, "epoll_pwait");
  resolve(real.epoll_pwait2, "epoll_pwait2");
#ifdef LAZYIDLE_PRELOAD_TEST_WITHOUT_EPOLL_PWAIT2
  real.epoll_pwait2 = nullptr;  // tests/preload: a C library older than 2.35
#endif
  if (!real.epoll_pwait2) real.epoll_pwait2 = raw_epoll_pwait2;
  resolve(real.poll, "poll");
  resolve(real.ppoll, "ppoll");
  resolve(real.select, "select");
  resolve(real.pselect, "pselect");
  resolve(real.recv, "recv");
  resolve(real.recvfrom, "recvfrom");
  resolve(real.recvmsg, "recvmsg");
  resolve(real.read, "read");
  resolve(real.readv, "readv");
  resolve(real.close, "close");
  resolve(real.dup2, "dup2");
  resolve(real.dup3, "dup3");
  resolve(real.fcntl, "fcntl");
  resolve(real.fcntl64, "fcntl64");
  resolve(real.read_chk, "__read_chk");
  resolve(real.recv_chk, "__recv_chk");
  resolve(real.recvfrom_chk, "__recvfrom_chk");
  resolve(real.poll_chk, "__poll_chk");
  resolve(real.ppoll_chk, "__ppoll_chk");
}

// ---- configuration -----------------------------------------------------------
struct configuration {
  policy_kind policy = policy_kind::default_policy;
  duration_ns fixed_ns = 0;
  bool guards = true;
  // w in B = B_cpu + w*L, in percent (LAZYIDLE_LATENCY_WEIGHT_PCT). A
  // wake's latency in a request/response loop stalls both ends and the
  // next request, so it is worth more than its own length: measured with
  // scripts/bench-servers (both ends, quiet machine), the pgbench -S -c 1
  // client caught 0 % of its waits at w = 1, 2 % at 2, 63 % at 3 (1.07x,
  // 1.15x, 1.40x no preload), wrk -c1's client 55 %, 96 %, 97 %.
  u32 latency_weight_pct = 300;
  // sched_yield() every poll_yield_rounds-th poll round (LAZYIDLE_POLL_YIELD=1; off by default): wait().
  bool poll_yield = false;
  int stats_fd = -1;  // -2: stderr table
  char stats_path[512] = "";
  char policy_text[64] = "default";
};
configuration config{};

// ---- statistics -------------------------------------------------------------
enum counter : unsigned {
  c_calls, c_passthrough, c_ready, c_waits, c_caught, c_blocked, c_guarded, c_poll_ns, c_yields, counter_count
};
constexpr const char* counter_names[counter_count] = {"calls",   "passthrough", "ready",   "waits",  "caught",
                                                      "blocked", "guarded",     "poll_ns", "yields"};

std::atomic<u64> process_counters[function_count][counter_count];

// ---- per-thread state --------------------------------------------------------
// The largest engine of the policies above, rounded up; checked below.
constexpr unsigned engine_storage_bytes = 1024;

struct thread_state {
  u64 counters[function_count][counter_count];
  u32 depth;         // > 0 while inside a wrapper: a nested call passes through
  u32 unflushed;     // calls since the last flush to the process counters
  bool constructed;  // engine_storage holds a wait_engine
  bool expect_block_at_once;  // the last plan blocked at once: the next multiplexer call blocks first
  bool registered;   // the pthread key destructor will flush at thread exit
  alignas(64) unsigned char engine_storage[engine_storage_bytes];
};
__attribute__((tls_model("initial-exec"))) thread_local thread_state tls{};

pthread_key_t exit_key;
bool exit_key_made = false;

void flush(thread_state& t) {
  for (unsigned f = 0; f < function_count; ++f)
    for (unsigned c = 0; c < counter_count; ++c)
      if (t.counters[f][c]) {
        process_counters[f][c].fetch_add(t.counters[f][c], std::memory_order_relaxed);
        t.counters[f][c] = 0;
      }
  t.unflushed = 0;
}

void flush_at_thread_exit(void*) { flush(tls); }

void after_fork_in_child() {
  for (auto& row : process_counters)
    for (auto& c : row) c.store(0, std::memory_order_relaxed);
  memset(tls.counters, 0, sizeof tls.counters);
  tls.unflushed = 0;
}

// ---- the per-fd type cache for read/readv/recv --------------------------------
// 0 unknown, 1 socket, 2 not a socket. Only a hint: the decision to poll
// re-checks O_NONBLOCK and SO_RCVTIMEO once per wait, and a stale entry
// either costs a missed poll or is corrected by ENOTSOCK.
constexpr int fd_cache_size = 65536;
std::atomic<u8> fd_kind[fd_cache_size];
constexpr u8 fd_unknown = 0, fd_socket = 1, fd_other = 2;

void forget_fd(int fd) {
  if (fd >= 0 && fd < fd_cache_size) fd_kind[fd].store(fd_unknown, std::memory_order_relaxed);
}

u8 kind_of(int fd) {
  if (fd < 0 || fd >= fd_cache_size) return fd_other;
  u8 kind = fd_kind[fd].load(std::memory_order_relaxed);
  if (kind == fd_unknown) {
    struct stat st;
    kind = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? fd_socket : fd_other;
    fd_kind[fd].store(kind, std::memory_order_relaxed);
  }
  return kind;
}

// SO_RCVTIMEO set: the real call's own timeout, which a poll phase would
// stretch; such sockets are left to the real call.
bool has_receive_timeout(int fd) {
  timeval timeout{};
  socklen_t length = sizeof timeout;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, &length) != 0) return true;
  return timeout.tv_sec != 0 || timeout.tv_usec != 0;
}

// ---- signals while polling -----------------------------------------------------
bool ignored_signal(int signo) {
  struct sigaction action;
  if (sigaction(signo, nullptr, &action) != 0) return false;
  if (!(action.sa_flags & SA_SIGINFO) && action.sa_handler == SIG_IGN) return true;
  if (!(action.sa_flags & SA_SIGINFO) && action.sa_handler == SIG_DFL)
    return signo == SIGCHLD || signo == SIGURG || signo == SIGWINCH || signo == SIGCONT;
  return false;
}

// Holds signals off while polling (RAII: restored on every way out,
// pthread_cancel's unwinding included).
class signal_hold {
 public:
  // call_mask: the mask the real call would run under (p-variants), or null
  // for the thread's own.
  explicit signal_hold(const sigset_t* call_mask) : call_mask_(call_mask) {}
  ~signal_hold() { release(); }
  signal_hold(const signal_hold&) = delete;
  signal_hold& operator=(const signal_hold&) = delete;

  void hold() {
    if (held_) return;
    sigset_t all;
    sigfillset(&all);
    held_ = pthread_sigmask(SIG_SETMASK, &all, &saved_) == 0;
  }
  void release() {
    if (held_) pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
    held_ = false;
  }
  bool held() const { return held_; }
  // The mask the real call is to wait under while the hold is on: the
  // call's own, else the thread's from before the hold.
  const sigset_t* wait_mask() const { return call_mask_ ? call_mask_ : &saved_; }
  // Of the signals pending that the call lets in, one has a handler
  // without SA_RESTART: a receive would have failed with EINTR.
  bool pending_interrupts_receive() {
    if (!held_) return false;
    sigset_t pending;
    if (sigpending(&pending) != 0) return false;
    const sigset_t& mask = call_mask_ ? *call_mask_ : saved_;
    for (int signo = 1; signo < NSIG; ++signo) {
      if (!sigismember(&pending, signo) || sigismember(&mask, signo)) continue;
      struct sigaction action;
      if (sigaction(signo, nullptr, &action) != 0) continue;
      const bool handled = (action.sa_flags & SA_SIGINFO) || (action.sa_handler != SIG_DFL && action.sa_handler != SIG_IGN);
      if (handled && !(action.sa_flags & SA_RESTART)) return true;
    }
    return false;
  }
  // A signal is pending that the real call would have taken.
  bool deliverable_pending() {
    if (!held_) return false;
    sigset_t pending;
    if (sigpending(&pending) != 0 || sigisemptyset(&pending)) return false;
    const sigset_t& mask = call_mask_ ? *call_mask_ : saved_;
    for (int signo = 1; signo < NSIG; ++signo) {
      if (!sigismember(&pending, signo) || sigismember(&mask, signo)) continue;
      if (ignored_signal(signo)) {
        // Without the hold the kernel would have dropped it on arrival.
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, signo);
        const timespec zero{0, 0};
        sigtimedwait(&one, nullptr, &zero);
        continue;
      }
      return true;
    }
    return false;
  }

 private:
  const sigset_t* call_mask_;
  sigset_t saved_{};
  bool held_ = false;
};

// ---- the L probe ----------------------------------------------------------------
std::atomic<u64> next_probe_ns{0};
constexpr u64 probe_period_ns = 50'000'000;
constexpr u64 probe_delay_ns = 100'000;
constexpr u64 min_probe_delay_ns = 12'500;
// Room for the descriptors an L probe watches (wait()): a poll with more
// makes no probe, since the descriptors it left out could not end it.
constexpr nfds_t probe_fd_capacity = 4;
// The probe's sleep. A probe the awaited event ended first samples nothing,
// and a process whose waits are all shorter than the probe never sampled L
// at all: the pgbench -S -c 1 client kept the 10-us seed while every other
// process here measured 25-40 us, so its B stayed under its 96-us waits and
// it caught 0-8 % of them (bench-servers, 2026-12-04). So an early end
// halves the sleep, down to min_probe_delay_ns, and makes the probe due
// again at the next block; a sample doubles it back, up to probe_delay_ns.
std::atomic<u64> probe_delay_now_ns{probe_delay_ns};
// The last change doubled the sleep: a probe cut short after it halves the
// sleep again without making the next one due, so the sleep settles within
// a factor of two of the waits and probes stay one per period.
std::atomic<bool> probe_delay_grew{false};
// Shorter than any sleep and wake-up (two context switches): a blocking call
// that returned this fast did not sleep. Measured here (blocking
// epoll_wait, sleeps confirmed by ru_nvcsw): no slept call under 2 us in
// about 140 000, while 0.02-16 % of them took under 5 us, the bound block
// first used before; ready calls took at most 0.63 us (p99.9).
constexpr u64 min_sleep_ns = 2'000;
// Poll rounds per look at the pending signals (wait()).
constexpr u32 signal_check_rounds = 4;
// Poll rounds per sched_yield() (wait()); on the rounds between the signal checks.
constexpr u32 poll_yield_rounds = 4;

bool probe_due(u64 now) {
  u64 due = next_probe_ns.load(std::memory_order_relaxed);
  return now >= due && next_probe_ns.compare_exchange_strong(due, now + probe_period_ns, std::memory_order_relaxed);
}

// ppoll for probe_delay_now_ns with precise timer slack and every signal
// held. Returns the lateness of the timeout, or 0 when something was ready
// first (no sample).
u64 probe_wake_latency(pollfd* fds, nfds_t count) {
  const int saved_errno = errno;
  const long old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
  sigset_t all;
  sigfillset(&all);
  const u64 delay_ns = probe_delay_now_ns.load(std::memory_order_relaxed);
  const timespec delay{0, static_cast<long>(delay_ns)};
  const u64 start = hosted::monotonic_ns();
  const int n = use_real(real.ppoll) ? real.ppoll(fds, count, &delay, &all)
                           : static_cast<int>(syscall(SYS_ppoll, fds, count, &delay, &all, kernel_sigset_bytes));
  const u64 end = hosted::monotonic_ns();
  if (old_slack > 0) prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(old_slack), 0, 0, 0);
  errno = saved_errno;
  if (n < 0) return 0;  // not an event (a stop, ENOMEM): no sample, no shortening
  u64 expected = delay_ns;  // only a probe that slept the current delay changes it
  if (n > 0) {
    if (delay_ns > min_probe_delay_ns &&
        probe_delay_now_ns.compare_exchange_strong(expected, max_of(delay_ns / 2, min_probe_delay_ns),
                                                   std::memory_order_relaxed) &&
        !probe_delay_grew.exchange(false, std::memory_order_relaxed))
      next_probe_ns.store(0, std::memory_order_relaxed);
    return 0;
  }
  // Sampled: the next probe tries twice as long again, so one early burst
  // of short waits does not keep every later probe short (a short sleep
  // may find the CPU in a shallower idle state than the waits it prices).
  if (delay_ns < probe_delay_ns &&
      probe_delay_now_ns.compare_exchange_strong(expected, min_of(2 * delay_ns, probe_delay_ns),
                                                 std::memory_order_relaxed))
    probe_delay_grew.store(true, std::memory_order_relaxed);
  const u64 target = start + delay_ns;
  return end > target ? end - target : 1;
}

// ---- policies --------------------------------------------------------------------
// "always": poll until the call's own timeout.
struct poll_until_timeout {
  static constexpr const char* name = "always";
  constexpr duration_ns budget(const poll_request& request) const {
    return request.bound_ns == no_bound ? no_bound : request.bound_ns;
  }
  constexpr void reflect(const idle_outcome&) {}
  constexpr void reset() {}
  constexpr u32 worst_case_ratio_q10() const { return u32_max; }
};

using break_even_governor = governor<default_predictor_for_t<break_even>, break_even>;
using haltpoll_governor = governor<default_predictor_for_t<haltpoll_grow_shrink>, haltpoll_grow_shrink>;
using kvm_governor = governor<default_predictor_for_t<kvm_grow_shrink>, kvm_grow_shrink>;
using fixed_governor = governor<last_value_predictor, fixed_poll>;
using always_governor = governor<last_value_predictor, poll_until_timeout>;

// ---- one wrapped wait ---------------------------------------------------------------
// What one non-blocking try found.
enum class tried : u8 {
  nothing,      // not ready yet: keep waiting
  result,       // the call is complete: value and err are its result
  passed,       // the same, but the call was never a wait (a non-blocking socket): counted as passed through
  pass_to_real, // not a wait the library may poll (a receive timeout): make the real call now
};
struct attempt_result {
  tried what;
  long value;
  int err;  // errno when value < 0
  bool done() const { return what == tried::result || what == tried::passed; }
};
inline attempt_result from_call(long value, int err) {
  return attempt_result{value != 0 ? tried::result : tried::nothing, value, err};
}

struct scope {
  thread_state& t;
  explicit scope(thread_state& state) : t(state) {
    ++t.depth;
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  ~scope() {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    --t.depth;
  }
};

// The process's governor settings, copied into each thread's engine.
waiter_options engine_options() {
  waiter_options o;
  o.yield_when_notifier_shares_cpu = false;  // the notifier is another process: no hint
  // A server's request latency is its clients' throughput: value the wake
  // latency a caught wait saves in full, times w (B = B_cpu + w L,
  // docs/preload.md).
  o.max_latency_credit_q10 = u32_max;
  o.latency_weight_q10 = config.latency_weight_pct * q10_one / 100;
  o.park_when_oversubscribed = config.guards;
  o.park_when_stealing = config.guards;
  o.back_off_when_polls_miss = config.guards;
  if (!config.guards) o.max_fruitless_poll_share_q10 = u32_max;
  if (config.policy == policy_kind::always) {
    o.max_poll_ns = no_bound;
    o.park_when_oversubscribed = o.park_when_stealing = o.back_off_when_polls_miss = false;
    o.max_fruitless_poll_share_q10 = u32_max;
    o.explore_period_ns = 0;  // never block: not even to measure B
  }
  return o;
}

template <class Governor>
Governor make_governor() {
  if constexpr (detail::is_same<Governor, fixed_governor>)
    return fixed_governor(fixed_poll(config.fixed_ns));
  else
    return Governor{};
}

template <class Governor>
hosted::wait_engine<Governor>& engine_of(thread_state& t) {
  using engine = hosted::wait_engine<Governor>;
  static_assert(sizeof(engine) <= engine_storage_bytes, "engine_storage_bytes too small for this policy");
  static_assert(alignof(engine) <= 64, "engine over-aligned for its storage");
  if (!t.constructed) {
    new (t.engine_storage) engine(engine_options(), make_governor<Governor>());
    t.constructed = true;
    if (exit_key_made && !t.registered) t.registered = pthread_setspecific(exit_key, &t) == 0;
  }
  return *std::launder(reinterpret_cast<engine*>(t.engine_storage));
}

void count(thread_state& t, function f, counter c, u64 n = 1) { t.counters[f][c] += n; }

void finish_call(thread_state& t, bool blocked_just_now) {
  if (++t.unflushed >= 64 || blocked_just_now) flush(t);
}

// The real call made at once, the plan having given the wait no budget
// (wait(), "Block first"). A call that returned within min_sleep_ns of
// being made did not sleep — no wake-up is that fast — so the try would
// have found it ready: its plan is withdrawn and it is counted ready, as
// the try-first order counts it, and teaches nothing. Otherwise it is a
// blocked wait like any other (B sampled, idle reflected less the wake
// latency). The counters are flushed before the call, as before any block:
// a server blocked here at exit has them counted.
template <class Engine, class Block>
long block_first(thread_state& t, function f, Engine& engine, wait_plan& plan, u64 start, u64 deadline,
                 int entry_errno, const sigset_t* call_mask, Block&& block) {
  // Decided now, committed only for a call that slept: a ready call must
  // not use up the one-in-cpu_sample_period sample (nor pay for it).
  const bool sample_cpu = engine.cpu_sample_due();
  const u64 cpu_before = sample_cpu ? hosted::thread_cpu_ns() : 0;
  if (t.unflushed) flush(t);
  errno = entry_errno;
  const u64 call_start = hosted::monotonic_ns();
  const long value = block(deadline, call_mask);
  const int block_errno = errno;
  const u64 end = hosted::monotonic_ns();
  const duration_ns call_ns = end - call_start;
  const bool timed_out = value == 0 && deadline != no_bound && end >= deadline;
  if (call_ns < min_sleep_ns && !timed_out) {
    engine.withdraw(plan);
    count(t, f, c_ready);
    finish_call(t, false);
    errno = block_errno;
    return value;
  }
  count(t, f, c_waits);
  count(t, f, c_blocked);
  if (plan.guard != wait_guard::none) count(t, f, c_guarded);
  finish_call(t, false);
  engine.count_block();
  if (engine.sample_cpu_now(plan) && sample_cpu &&
      engine.teaches_block_cost(sat_sub(call_ns, engine.wake_latency_estimate_ns())))
    engine.learn_block_cpu(hosted::thread_cpu_ns() - cpu_before, end);
  const duration_ns idle = timed_out ? end - start : sat_sub(end - start, engine.wake_latency_estimate_ns());
  engine.finish(plan, idle, timed_out ? wait_end::timed_out : wait_end::woken, 0, 1, 0, end);
  errno = block_errno;
  return value;
}

// The wait itself. attempt(): one non-blocking try. block(deadline_ns,
// mask): the real call, given the absolute deadline (no_bound: none) and
// the signal mask to wait under (null: the thread's); it returns the
// call's result. probe(): fills pollfds to watch for the L probe, returns
// their count (0: no probe for this call). block_takes_mask: false for the
// receives, which have no p-variant to wait under a mask.
//
// Signals: polling holds every signal off. The multiplexers then make the
// real call with the hold still on and the mask they would have waited
// under (the call's or the thread's) as its p-variant's mask, so a signal
// that came while polling interrupts it with EINTR (or is kept out by the
// call's mask) exactly as it would have; the hold ends after it. A receive
// has no such call: when a signal came while polling, the hold ends (the
// handler runs) and the receive fails with EINTR unless every such
// handler has SA_RESTART, in which case the real receive runs (restarted).
template <class Governor, class Attempt, class Block, class Probe>
long wait(thread_state& t, function f, u64 timeout_ns, const sigset_t* call_mask, bool block_takes_mask,
          Attempt&& attempt, Block&& block, Probe&& probe_fds) {
  const int entry_errno = errno;
  count(t, f, c_calls);
  const u64 start = hosted::monotonic_ns();
  const u64 deadline = timeout_ns == no_bound ? no_bound : sat_add(start, timeout_ns);
  wait_plan plan;
  attempt_result r{};
  // Block first. While this thread's waits block at once — the governor
  // gives no budget, or a guard takes it away — a try before the real call
  // is one system call more on every wait, and not a free one: a peer this
  // thread has just woken onto its own CPU waits in the run queue until it
  // blocks (nginx and h2load answer each other on one CPU, the other idle,
  // docs/bench-servers.md "The open-loop p50"). So the plan comes first,
  // and when it says "block at once" the real call is made at once. Only
  // for the multiplexers: a receive's try also tells a non-blocking socket
  // from a blocking one. A plan that wants to poll after all polls at
  // once; its first try is the one skipped, so a catch there is reflected
  // as a wait of about nothing, once, where the try-first order would have
  // counted the call ready.
  // Not when the L probe is due (it needs the try to know the call will
  // sleep: a thread that always blocked first would never refresh L), nor
  // for an exploring plan, whose block must sleep to teach B: the try
  // first, then, as before.
  // A call with nothing to watch cannot take a due probe, so it does not
  // try first for it (the next call that can watch takes it). The
  // descriptors are gathered only when a probe is due: not on every call.
  pollfd probe_set[probe_fd_capacity];
  const bool plan_first = block_takes_mask && t.constructed && t.expect_block_at_once &&
                          (next_probe_ns.load(std::memory_order_relaxed) > start || probe_fds(probe_set) == 0);
  if (plan_first) {
    plan = engine_of<Governor>(t).plan(start, timeout_ns);
    if (hosted::wait_engine<Governor>::withdrawable(plan))
      return block_first(t, f, engine_of<Governor>(t), plan, start, deadline, entry_errno, call_mask, block);
    if (plan.guard == wait_guard::explore) {
      r = attempt();
      if (r.done()) {  // ready after all: the explore is spent (its clock restarted), the call counted ready
        engine_of<Governor>(t).withdraw(plan);
        count(t, f, c_ready);
        finish_call(t, false);
        errno = r.value < 0 ? r.err : entry_errno;
        return r.value;
      }
    }
  } else {
    r = attempt();
    if (r.what != tried::nothing) {
      if (r.what == tried::pass_to_real) {
        count(t, f, c_passthrough);
        finish_call(t, false);
        errno = entry_errno;
        return block(no_bound, call_mask);
      }
      count(t, f, r.what == tried::passed ? c_passthrough : c_ready);
      finish_call(t, false);
      errno = r.value < 0 ? r.err : entry_errno;
      return r.value;
    }
    plan = engine_of<Governor>(t).plan(start, timeout_ns);
  }
  count(t, f, c_waits);
  auto& engine = engine_of<Governor>(t);
  t.expect_block_at_once = hosted::wait_engine<Governor>::withdrawable(plan);
  u64 now = start;
  bool interrupted = false;
  signal_hold hold(call_mask);
  if (plan.budget_ns > 0) {
    hold.hold();
    const u64 poll_deadline = min_of(sat_add(start, plan.budget_ns), deadline);
    // A thread the scheduler wakes onto this CPU while we poll — when no
    // CPU is idle, the peer our own request woke — waits behind the poll:
    // EEVDF does not preempt the running task for a wakee with no lag, so
    // it runs when we block (or our slice ends), about one budget later.
    // A yield now and then hands it the CPU; with no one else runnable it
    // returns at once. Only within the poller's task group: a peer in
    // another cgroup or autogroup (session) is picked by its group entity,
    // which our yield does not move (docs/preload.md).
    //
    // A yield that kept the CPU away for long either handed it to the peer
    // for its whole request — then the event is there at the next try: a
    // hand-off — or to a stranger: then yielding backs off for 64, 128 ...
    // waits (the engine's, as wait.hpp's yield mode).
    bool yielding = config.poll_yield && engine.yielding_allowed();
    bool yielded = false;
    bool long_yield = false;
    for (u32 round = 0;; ++round) {
      r = attempt();
      now = hosted::monotonic_ns();
      if (long_yield && !r.done()) {
        engine.note_long_yield();
        yielding = false;
      }
      long_yield = false;
      if (r.done() || r.what == tried::pass_to_real) break;  // the latter: the descriptor changed under us
      // sigpending() is a system call as dear as the try itself: asked on
      // every round it made each round twice as long, and a catch later.
      // Asked every signal_check_rounds-th round, a signal ends the polling
      // a few rounds later at most; nothing is lost, since a multiplexer's
      // real call takes a pending signal itself and a receive asks once more
      // below before it blocks.
      if (round % signal_check_rounds == 0 && hold.deliverable_pending()) {
        interrupted = true;
        break;
      }
      // A yield that overran the deadline ends the polling here; its time
      // counts as polled (the thread was off its CPU, which only makes the
      // accounting conservative).
      if (now >= poll_deadline) break;
      if (yielding && round % poll_yield_rounds == poll_yield_rounds / 2) {
        // Not sched_yield(): a program or another preload defining it must
        // not see our polling.
        syscall(SYS_sched_yield);
        yielded = true;
        count(t, f, c_yields);
        long_yield = hosted::monotonic_ns() - now > engine.options().long_yield_ns;
      } else {
        hosted::cpu_relax();
      }
    }
    engine.end_poll(plan);
    // Yields that never lost the CPU to a stranger, and a catch: the CPU is
    // not shared with one now, so the next long yield backs off from 64
    // waits again instead of from where an old one left it.
    if (yielding && yielded && r.done()) engine.note_yield_caught();
    if (r.done()) {
      hold.release();
      count(t, f, c_caught);
      count(t, f, c_poll_ns, now - start);
      engine.finish(plan, now - start, wait_end::caught, now - start, 0, 0, now);
      finish_call(t, false);
      errno = r.value < 0 ? r.err : entry_errno;
      return r.value;
    }
  }
  const duration_ns polled = now - start;
  // The L probe: only where the thread was going to block for a while.
  // (now may be past the deadline: a poll that overran it.) Never on an
  // exploring block: that one is there to time a short block, and a probe
  // that sees the event first would leave it a call that does not sleep.
  // (A call with no descriptors to watch leaves a due probe to the next.)
  // Signals are held across it, so one that comes during the
  // probe stays pending for what follows — the multiplexer's real call,
  // which waits under the caller's mask, or the receive's check below;
  // delivered between the probe and the real call, its handler would run
  // and the call sleep on where it should have returned EINTR.
  if (!interrupted && plan.guard != wait_guard::explore && next_probe_ns.load(std::memory_order_relaxed) <= now &&
      (deadline == no_bound || deadline > sat_add(now, 4 * probe_delay_now_ns.load(std::memory_order_relaxed)))) {
    const nfds_t probe_count = probe_fds(probe_set);
    if (probe_count && probe_due(now)) {
      hold.hold();
      const u64 late = probe_wake_latency(probe_set, probe_count);
      if (late) engine.learn_wake_latency(late);
    }
  }
  if (!block_takes_mask && hold.held()) {
    const bool eintr = (interrupted || hold.deliverable_pending()) && hold.pending_interrupts_receive();
    hold.release();  // a pending handler runs here
    if (eintr) {
      count(t, f, c_caught);
      count(t, f, c_poll_ns, polled);
      engine.finish(plan, polled, wait_end::other, polled, 0, 0, hosted::monotonic_ns());
      finish_call(t, false);
      errno = EINTR;
      return -1;
    }
  }
  count(t, f, c_blocked);
  count(t, f, c_poll_ns, polled);
  if (plan.guard != wait_guard::none) count(t, f, c_guarded);
  finish_call(t, true);  // flushed before sleeping: the counters' cost hides in the block
  const bool sample_cpu = engine.sample_cpu_now(plan);
  const u64 cpu_before = sample_cpu ? hosted::thread_cpu_ns() : 0;
  const u64 block_start = sample_cpu ? hosted::monotonic_ns() : 0;
  engine.count_block();
  errno = entry_errno;
  const long value = block(deadline, hold.held() ? hold.wait_mask() : call_mask);
  const int block_errno = errno;
  hold.release();  // after the real call, as the kernel delivers what its mask kept out
  const u64 end = hosted::monotonic_ns();
  // A block teaches B only if it slept, and about as long as the idles B
  // decides (wait_engine.hpp, "Which blocks teach B"). A call whose event
  // came between our last try and the call returns without sleeping: it
  // costs a system call, not a block and a wake-up (min_sleep_ns).
  const duration_ns blocked_ns = sat_sub(end, block_start);
  if (sample_cpu && blocked_ns >= min_sleep_ns &&
      engine.teaches_block_cost(sat_sub(blocked_ns, engine.wake_latency_estimate_ns())))
    engine.learn_block_cpu(hosted::thread_cpu_ns() - cpu_before, end);
  // The idle ended before we ran again: take the wake latency off (menu's
  // convention for a state's exit latency), never below what was polled.
  const bool timed_out = value == 0 && deadline != no_bound && end >= deadline;
  const duration_ns idle =
      timed_out ? end - start : max_of(polled, sat_sub(end - start, engine.wake_latency_estimate_ns()));
  engine.finish(plan, idle, timed_out ? wait_end::timed_out : wait_end::woken, polled, 1, 0, end);
  errno = block_errno;
  return value;
}

// ---- dispatch on the process's policy ---------------------------------------------------
template <class Body>
long with_policy(Body&& body) {
  switch (config.policy) {
    case policy_kind::break_even: return body.template operator()<break_even_governor>();
    case policy_kind::haltpoll: return body.template operator()<haltpoll_governor>();
    case policy_kind::kvm: return body.template operator()<kvm_governor>();
    case policy_kind::fixed: return body.template operator()<fixed_governor>();
    case policy_kind::always: return body.template operator()<always_governor>();
    case policy_kind::default_policy:
    case policy_kind::never: break;
  }
  return body.template operator()<default_governor>();
}

void initialise();

// Are we to act on this call at all? (Not before initialisation, not for
// `never`, not from a nested call.)
bool active() {
  if (LAZYIDLE_UNLIKELY(init_state.load(std::memory_order_acquire) != 2)) {
    initialise();
    if (init_state.load(std::memory_order_acquire) != 2) return false;
  }
  return config.policy != policy_kind::never && tls.depth == 0;
}

void count_passthrough(function f) {
  if (init_state.load(std::memory_order_relaxed) != 2 || tls.depth != 0) return;
  count(tls, f, c_calls);
  count(tls, f, c_passthrough);
  finish_call(tls, false);
}

u64 ms_timeout_ns(int timeout_ms) { return timeout_ms < 0 ? no_bound : static_cast<u64>(timeout_ms) * 1'000'000ull; }
u64 ts_timeout_ns(const timespec* ts) {
  if (!ts) return no_bound;
  if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1'000'000'000) return 0;  // the real call says EINVAL
  return sat_add(sat_mul(static_cast<u64>(ts->tv_sec), 1'000'000'000ull), static_cast<u64>(ts->tv_nsec));
}
timespec remaining_ts(u64 deadline) {
  const u64 now = hosted::monotonic_ns();
  const u64 left = deadline > now ? deadline - now : 0;
  return timespec{static_cast<time_t>(left / 1'000'000'000ull), static_cast<long>(left % 1'000'000'000ull)};
}
nfds_t no_probe(pollfd*) { return 0; }

// ---- epoll ------------------------------------------------------------------------
int epoll_common(function f, int epfd, epoll_event* events, int maxevents, u64 timeout_ns, const sigset_t* mask,
                 bool has_mask) {
  scope s(tls);
  return static_cast<int>(with_policy([&]<class G>() -> long {
    return wait<G>(
        tls, f, timeout_ns, has_mask ? mask : nullptr, true,
        [&] {
          const int n = real.epoll_wait(epfd, events, maxevents, 0);
          return from_call(n, errno);
        },
        [&](u64 deadline, const sigset_t* call_mask) -> long {
          if (deadline == no_bound) return real.epoll_pwait(epfd, events, maxevents, -1, call_mask);
          const timespec left = remaining_ts(deadline);
          const int errno_before = errno;
          const int n = real.epoll_pwait2(epfd, events, maxevents, &left, call_mask);
          if (n >= 0 || errno != ENOSYS) return n;
          errno = errno_before;  // a call that succeeds leaves errno as it found it
          // Before Linux 5.11: milliseconds, rounded up so the timeout is never cut short.
          const u64 ns = static_cast<u64>(left.tv_sec) * 1'000'000'000ull + static_cast<u64>(left.tv_nsec);
          return real.epoll_pwait(epfd, events, maxevents, static_cast<int>(min_of<u64>((ns + 999'999) / 1'000'000, 0x7fffffff)), call_mask);
        },
        [&](pollfd* fds) -> nfds_t {
          fds[0] = pollfd{epfd, POLLIN, 0};
          return 1;
        });
  }));
}

// ---- poll -------------------------------------------------------------------------
int poll_common(function f, pollfd* fds, nfds_t count, u64 timeout_ns, const sigset_t* mask, bool has_mask) {
  scope s(tls);
  return static_cast<int>(with_policy([&]<class G>() -> long {
    return wait<G>(
        tls, f, timeout_ns, has_mask ? mask : nullptr, true,
        [&] {
          const int n = real.poll(fds, count, 0);
          return from_call(n, errno);
        },
        [&](u64 deadline, const sigset_t* call_mask) -> long {
          if (deadline == no_bound) return real.ppoll(fds, count, nullptr, call_mask);
          const timespec left = remaining_ts(deadline);
          return real.ppoll(fds, count, &left, call_mask);
        },
        // The caller's own descriptors, so their event ends the probe at
        // once; copies, as the caller's revents are the real call's. Without
        // it a process that waits in poll() never measured L and kept the
        // seed (the pgbench client: 10 us against 25-40 us measured by
        // every process waiting in epoll here).
        [&](pollfd* probe) -> nfds_t {
          if (count == 0 || count > probe_fd_capacity) return 0;
          for (nfds_t i = 0; i < count; ++i) probe[i] = pollfd{fds[i].fd, fds[i].events, 0};
          return count;
        });
  }));
}

// ---- select ---------------------------------------------------------------------------
// The caller's sets are inputs and outputs, and may be only as long as
// nfds needs (howmany(nfds, NFDBITS) words, as the kernel reads them):
// every try works on copies of those words and copies the outputs back
// only when it is the result.
struct fd_sets {
  fd_set read, write, except;
};
void copy_set(fd_set* to, const fd_set* from, size_t bytes) {
  if (to && from) memcpy(to, from, bytes);
}
int select_common(function f, int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, u64 timeout_ns,
                  timeval* write_back, const sigset_t* mask, bool has_mask) {
  scope s(tls);
  constexpr size_t word_bits = 8 * sizeof(long);
  const size_t bytes = (static_cast<size_t>(nfds) + word_bits - 1) / word_bits * sizeof(long);
  fd_sets in{}, out{};
  copy_set(&in.read, readfds, bytes);
  copy_set(&in.write, writefds, bytes);
  copy_set(&in.except, exceptfds, bytes);
  const u64 started = hosted::monotonic_ns();
  const int n = static_cast<int>(with_policy([&]<class G>() -> long {
    return wait<G>(
        tls, f, timeout_ns, has_mask ? mask : nullptr, true,
        [&] {
          out = in;
          timeval zero{0, 0};
          const int r = real.select(nfds, readfds ? &out.read : nullptr, writefds ? &out.write : nullptr,
                                    exceptfds ? &out.except : nullptr, &zero);
          if (r > 0) {  // the result: hand the sets back
            copy_set(readfds, &out.read, bytes);
            copy_set(writefds, &out.write, bytes);
            copy_set(exceptfds, &out.except, bytes);
          }
          return from_call(r, errno);
        },
        [&](u64 deadline, const sigset_t* call_mask) -> long {
          copy_set(readfds, &in.read, bytes);
          copy_set(writefds, &in.write, bytes);
          copy_set(exceptfds, &in.except, bytes);
          if (deadline == no_bound) return real.pselect(nfds, readfds, writefds, exceptfds, nullptr, call_mask);
          const timespec left = remaining_ts(deadline);
          return real.pselect(nfds, readfds, writefds, exceptfds, &left, call_mask);
        },
        no_probe);
  }));
  if (write_back) {
    // Linux's select() reports the time not slept; so do we, over the
    // whole call (the deadline is the caller's).
    const u64 elapsed = hosted::monotonic_ns() - started;
    const u64 left = timeout_ns > elapsed ? timeout_ns - elapsed : 0;
    write_back->tv_sec = static_cast<time_t>(left / 1'000'000'000ull);
    write_back->tv_usec = static_cast<suseconds_t>((left % 1'000'000'000ull) / 1000);
  }
  return n;
}

// ---- receives on blocking sockets --------------------------------------------------
// MSG_NOSIGNAL only concerns sends (no SIGPIPE on a broken stream); a receive
// ignores it, and sockperf passes it on every recvfrom.
constexpr int plain_receive_flags = MSG_PEEK | MSG_TRUNC | MSG_CMSG_CLOEXEC | MSG_NOSIGNAL;

template <class TryOnce, class Real>
ssize_t receive_common(function f, int fd, int flags, TryOnce&& try_once, Real&& real_call) {
  scope s(tls);
  return static_cast<ssize_t>(with_policy([&]<class G>() -> long {
    bool first = true;
    return wait<G>(
        tls, f, no_bound, nullptr, false,
        [&] {
          const ssize_t n = try_once(flags | MSG_DONTWAIT);
          const int err = errno;
          if (n < 0 && err == ENOTSOCK) {
            // The cache said socket, but the number was closed behind our
            // back (fclose, a raw close) and reused: read/readv must read
            // it, so the real call answers.
            if (fd >= 0 && fd < fd_cache_size) fd_kind[fd].store(fd_other, std::memory_order_relaxed);
            return attempt_result{tried::pass_to_real, 0, 0};
          }
          if (n >= 0 || (err != EAGAIN && err != EWOULDBLOCK)) return attempt_result{tried::result, n, err};
          if (first) {
            first = false;
            // Nothing there: is this a wait at all? On a non-blocking
            // socket this EAGAIN is the real call's answer; a socket with a
            // receive timeout is left to the real call, which keeps it.
            const int flags_now = real.fcntl(fd, F_GETFL);
            if (flags_now >= 0 && (flags_now & O_NONBLOCK)) {
              if (fd < fd_cache_size) fd_kind[fd].store(fd_other, std::memory_order_relaxed);
              return attempt_result{tried::passed, n, err};
            }
            if (has_receive_timeout(fd)) {
              if (fd < fd_cache_size) fd_kind[fd].store(fd_other, std::memory_order_relaxed);
              return attempt_result{tried::pass_to_real, 0, 0};
            }
          }
          return attempt_result{tried::nothing, n, err};
        },
        [&](u64, const sigset_t*) -> long { return real_call(); },
        [&](pollfd* fds) -> nfds_t {
          fds[0] = pollfd{fd, POLLIN, 0};
          return 1;
        });
  }));
}

bool receive_may_wait(int fd, int flags) {
  return (flags & ~plain_receive_flags) == 0 && kind_of(fd) == fd_socket;
}

// ---- initialisation and the report at exit --------------------------------------------
void write_stats();

void initialise() {
  int expected = 0;
  if (!init_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) return;
  const int saved_errno = errno;
  resolve_all();
  const char* policy = getenv("LAZYIDLE_POLICY");
  if (policy && *policy) {
    unsigned long long fixed_ns = 0;
    if (parse_policy_name(policy, config.policy, fixed_ns)) {
      config.fixed_ns = fixed_ns;
    } else {
      dprintf(2, "lazyidle: LAZYIDLE_POLICY=%s: unknown policy (%s); running as never: nothing is changed\n", policy,
              policy_list);
      config.policy = policy_kind::never;
    }
    snprintf(config.policy_text, sizeof config.policy_text, "%s", policy);
  }
  const char* guards = getenv("LAZYIDLE_GUARDS");
  config.guards = !(guards && strcmp(guards, "0") == 0);
  if (!config.guards) hosted::system_load::instance().suppress(~0u);
  const char* weight = getenv("LAZYIDLE_LATENCY_WEIGHT_PCT");
  if (weight && *weight) {
    char* end = nullptr;
    const unsigned long pct = strtoul(weight, &end, 10);
    if (*end == '\0' && pct <= 1000)
      config.latency_weight_pct = static_cast<u32>(pct);
    else
      dprintf(2, "lazyidle: LAZYIDLE_LATENCY_WEIGHT_PCT=%s: not a percentage in 0..1000; keeping %u\n", weight,
              config.latency_weight_pct);
  }
  const char* poll_yield = getenv("LAZYIDLE_POLL_YIELD");
  // Off unless asked for: in bench-servers (2026-12-04, quiet machine) it
  // changed nothing beyond the noise on any case, h2load-rps included, in
  // either scheduler-group layout (docs/bench-servers.md). Never under
  // `always`, which stands for a peer that spins.
  if (poll_yield && *poll_yield) {  // set but empty: as unset
    if (strcmp(poll_yield, "0") == 0 || strcmp(poll_yield, "1") == 0)
      config.poll_yield = *poll_yield == '1';
    else
      dprintf(2, "lazyidle: LAZYIDLE_POLL_YIELD=%s: not 0 or 1; keeping %d\n", poll_yield, config.poll_yield);
  }
  if (config.policy == policy_kind::always) config.poll_yield = false;
  const char* stats = getenv("LAZYIDLE_STATS");
  if (stats && *stats) {
    if (strcmp(stats, "-") == 0)
      config.stats_fd = -2;
    else
      snprintf(config.stats_path, sizeof config.stats_path, "%s", stats);
  }
  // Every function we call through must exist, or we change nothing.
  if (!real.epoll_wait || !real.epoll_pwait || !real.epoll_pwait2 || !real.poll || !real.ppoll || !real.select ||
      !real.pselect || !real.recv || !real.recvfrom || !real.recvmsg || !real.read || !real.readv) {
    dprintf(2, "lazyidle: the C library lacks a function the preload needs; running as never\n");
    config.policy = policy_kind::never;
  }
  if (config.policy != policy_kind::never) {
    exit_key_made = pthread_key_create(&exit_key, flush_at_thread_exit) == 0;
    pthread_atfork(nullptr, nullptr, after_fork_in_child);
    hosted::system_load::instance();  // registers its own fork handler, opens nothing
  }
  errno = saved_errno;
  init_state.store(2, std::memory_order_release);
}

__attribute__((constructor)) void on_load() { initialise(); }

__attribute__((destructor)) void on_unload() {
  if (init_state.load(std::memory_order_acquire) != 2) return;
  flush(tls);
  write_stats();
}

template <class Governor>
void read_block_cost(u64& b, u64& cpu, u64& latency) {
  if (!tls.constructed) {
    cpu = hosted::process_block_cost.cpu_ns();
    latency = hosted::process_block_cost.latency_ns();
    b = cpu + latency;
    return;
  }
  const auto s = engine_of<Governor>(tls).stats();
  b = s.block_cost_ns;
  cpu = s.block_cpu_ns;
  latency = s.wake_latency_ns;
}

// The stats text, built with printf formats checked at every call.
struct text_buffer {
  char text[8192];
  size_t used = 0;
  __attribute__((format(printf, 2, 3))) void operator()(const char* format, ...) {
    if (used >= sizeof text) return;
    va_list args;
    va_start(args, format);
    const int n = vsnprintf(text + used, sizeof text - used, format, args);
    va_end(args);
    if (n > 0) used = min_of(sizeof text, used + static_cast<size_t>(n));
  }
};

void write_stats() {
  if (config.stats_fd == -1 && config.stats_path[0] == '\0') return;
  const int saved_errno = errno;
  u64 b = 0, cpu = 0, latency = 0;
  with_policy([&]<class G>() -> long {
    read_block_cost<G>(b, cpu, latency);
    return 0;
  });
  if (config.policy == policy_kind::never) {
    cpu = hosted::process_block_cost.cpu_ns();
    latency = hosted::process_block_cost.latency_ns();
    b = cpu + latency;
  }
  text_buffer put;
  if (config.stats_fd == -2) {
    put("lazyidle: %s[%d] policy %s, B %llu ns (CPU %llu + wake latency %llu)\n", program_invocation_short_name,
        static_cast<int>(getpid()), config.policy_text, b, cpu, latency);
    put("  %-13s %10s %10s %9s %9s %9s %9s %8s %12s %9s\n", "function", "calls", "passed", "ready", "waits",
        "caught", "blocked", "guarded", "poll ms", "yields");
    for (unsigned f = 0; f < function_count; ++f) {
      u64 v[counter_count];
      for (unsigned c = 0; c < counter_count; ++c) v[c] = process_counters[f][c].load(std::memory_order_relaxed);
      if (v[c_calls] == 0) continue;
      put("  %-13s %10llu %10llu %9llu %9llu %9llu %9llu %8llu %12.3f %9llu\n", function_names[f], v[c_calls],
          v[c_passthrough], v[c_ready], v[c_waits], v[c_caught], v[c_blocked], v[c_guarded],
          static_cast<double>(v[c_poll_ns]) / 1e6, v[c_yields]);
    }
    (void)!write(2, put.text, put.used);
  } else {
    put("{\"pid\":%d,\"program\":\"%s\",\"policy\":\"%s\",\"block_cost_ns\":%llu,\"block_cpu_ns\":%llu,"
        "\"wake_latency_ns\":%llu,\"calls\":{",
        static_cast<int>(getpid()), program_invocation_short_name, config.policy_text, b, cpu, latency);
    bool first = true;
    for (unsigned f = 0; f < function_count; ++f) {
      u64 v[counter_count];
      for (unsigned c = 0; c < counter_count; ++c) v[c] = process_counters[f][c].load(std::memory_order_relaxed);
      if (v[c_calls] == 0) continue;
      put("%s\"%s\":{", first ? "" : ",", function_names[f]);
      for (unsigned c = 0; c < counter_count; ++c) put("%s\"%s\":%llu", c ? "," : "", counter_names[c], v[c]);
      put("}");
      first = false;
    }
    put("}}\n");
    const int fd = open(config.stats_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      (void)!write(fd, put.text, put.used);  // one write: lines of concurrent processes do not interleave
      use_real(real.close) ? real.close(fd) : close(fd);
    }
  }
  errno = saved_errno;
}

}  // namespace
}  // namespace lazyidle::preload

// ---- the interposed symbols -----------------------------------------------------------------
using namespace lazyidle::preload;
using lazyidle::no_bound;

extern "C" {

__attribute__((visibility("default"))) int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout) {
  if (timeout == 0 || maxevents <= 0 || !active()) {
    count_passthrough(f_epoll_wait);
    return use_real(real.epoll_wait) ? real.epoll_wait(epfd, events, maxevents, timeout)
                           : static_cast<int>(syscall(SYS_epoll_wait, epfd, events, maxevents, timeout));
  }
  return epoll_common(f_epoll_wait, epfd, events, maxevents, ms_timeout_ns(timeout), nullptr, false);
}

__attribute__((visibility("default"))) int epoll_pwait(int epfd, epoll_event* events, int maxevents, int timeout,
                                                       const sigset_t* mask) {
  if (timeout == 0 || maxevents <= 0 || !active()) {
    count_passthrough(f_epoll_pwait);
    return use_real(real.epoll_pwait) ? real.epoll_pwait(epfd, events, maxevents, timeout, mask)
                            : static_cast<int>(syscall(SYS_epoll_pwait, epfd, events, maxevents, timeout, mask, kernel_sigset_bytes));
  }
  return epoll_common(f_epoll_pwait, epfd, events, maxevents, ms_timeout_ns(timeout), mask, mask != nullptr);
}

__attribute__((visibility("default"))) int epoll_pwait2(int epfd, epoll_event* events, int maxevents,
                                                        const timespec* timeout, const sigset_t* mask) {
  const lazyidle::u64 ns = ts_timeout_ns(timeout);
  if (ns == 0 || maxevents <= 0 || !active()) {
    count_passthrough(f_epoll_pwait2);
    return use_real(real.epoll_pwait2) ? real.epoll_pwait2(epfd, events, maxevents, timeout, mask)
                             : static_cast<int>(syscall(SYS_epoll_pwait2, epfd, events, maxevents, timeout, mask, kernel_sigset_bytes));
  }
  return epoll_common(f_epoll_pwait2, epfd, events, maxevents, ns, mask, mask != nullptr);
}

__attribute__((visibility("default"))) int poll(pollfd* fds, nfds_t nfds, int timeout) {
  if (timeout == 0 || nfds == 0 || !active()) {  // poll(NULL, 0, t) is a sleep: nothing to poll
    count_passthrough(f_poll);
    return use_real(real.poll) ? real.poll(fds, nfds, timeout) : static_cast<int>(syscall(SYS_poll, fds, nfds, timeout));
  }
  return poll_common(f_poll, fds, nfds, ms_timeout_ns(timeout), nullptr, false);
}

__attribute__((visibility("default"))) int ppoll(pollfd* fds, nfds_t nfds, const timespec* timeout,
                                                 const sigset_t* mask) {
  const lazyidle::u64 ns = ts_timeout_ns(timeout);
  if (ns == 0 || nfds == 0 || !active()) {
    count_passthrough(f_ppoll);
    return use_real(real.ppoll) ? real.ppoll(fds, nfds, timeout, mask)
                      : raw_ppoll(fds, nfds, timeout, mask);
  }
  return poll_common(f_ppoll, fds, nfds, ns, mask, mask != nullptr);
}

__attribute__((visibility("default"))) int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                                                  timeval* timeout) {
  const bool zero = timeout && timeout->tv_sec == 0 && timeout->tv_usec == 0;
  const bool invalid = timeout && (timeout->tv_sec < 0 || timeout->tv_usec < 0 || timeout->tv_usec >= 1'000'000);
  if (zero || invalid || nfds <= 0 || nfds > FD_SETSIZE || !active()) {
    count_passthrough(f_select);
    return use_real(real.select) ? real.select(nfds, readfds, writefds, exceptfds, timeout)
                       : static_cast<int>(syscall(SYS_select, nfds, readfds, writefds, exceptfds, timeout));
  }
  const lazyidle::u64 ns =
      timeout ? static_cast<lazyidle::u64>(timeout->tv_sec) * 1'000'000'000ull + static_cast<lazyidle::u64>(timeout->tv_usec) * 1000ull
              : no_bound;
  return select_common(f_select, nfds, readfds, writefds, exceptfds, ns, timeout, nullptr, false);
}

__attribute__((visibility("default"))) int pselect(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                                                   const timespec* timeout, const sigset_t* mask) {
  const lazyidle::u64 ns = ts_timeout_ns(timeout);
  if (ns == 0 || nfds <= 0 || nfds > FD_SETSIZE || !active()) {
    count_passthrough(f_pselect);
    return use_real(real.pselect) ? real.pselect(nfds, readfds, writefds, exceptfds, timeout, mask)
                        : raw_pselect(nfds, readfds, writefds, exceptfds, timeout, mask);
  }
  return select_common(f_pselect, nfds, readfds, writefds, exceptfds, ns, nullptr, mask, mask != nullptr);
}

__attribute__((visibility("default"))) ssize_t recv(int fd, void* buffer, size_t length, int flags) {
  if (length == 0 || !active() || !receive_may_wait(fd, flags)) {
    count_passthrough(f_recv);
    return use_real(real.recv) ? real.recv(fd, buffer, length, flags) : syscall(SYS_recvfrom, fd, buffer, length, flags, nullptr, nullptr);
  }
  return receive_common(
      f_recv, fd, flags, [&](int f) { return real.recv(fd, buffer, length, f); },
      [&] { return real.recv(fd, buffer, length, flags); });
}

__attribute__((visibility("default"))) ssize_t recvfrom(int fd, void* buffer, size_t length, int flags,
                                                        sockaddr* address, socklen_t* address_length) {
  if (length == 0 || !active() || !receive_may_wait(fd, flags)) {
    count_passthrough(f_recvfrom);
    return use_real(real.recvfrom) ? real.recvfrom(fd, buffer, length, flags, address, address_length)
                         : syscall(SYS_recvfrom, fd, buffer, length, flags, address, address_length);
  }
  return receive_common(
      f_recvfrom, fd, flags, [&](int f) { return real.recvfrom(fd, buffer, length, f, address, address_length); },
      [&] { return real.recvfrom(fd, buffer, length, flags, address, address_length); });
}

__attribute__((visibility("default"))) ssize_t recvmsg(int fd, msghdr* message, int flags) {
  if (!active() || !receive_may_wait(fd, flags)) {
    count_passthrough(f_recvmsg);
    return use_real(real.recvmsg) ? real.recvmsg(fd, message, flags) : syscall(SYS_recvmsg, fd, message, flags);
  }
  return receive_common(
      f_recvmsg, fd, flags, [&](int f) { return real.recvmsg(fd, message, f); },
      [&] { return real.recvmsg(fd, message, flags); });
}

__attribute__((visibility("default"))) ssize_t read(int fd, void* buffer, size_t length) {
  if (length == 0 || !active() || !receive_may_wait(fd, 0)) {
    count_passthrough(f_read);
    return use_real(real.read) ? real.read(fd, buffer, length) : syscall(SYS_read, fd, buffer, length);
  }
  return receive_common(
      f_read, fd, 0, [&](int f) { return real.recv(fd, buffer, length, f); },
      [&] { return real.read(fd, buffer, length); });
}

__attribute__((visibility("default"))) ssize_t readv(int fd, const iovec* vector, int count) {
  if (count <= 0 || !active() || !receive_may_wait(fd, 0)) {
    count_passthrough(f_readv);
    return use_real(real.readv) ? real.readv(fd, vector, count) : syscall(SYS_readv, fd, vector, count);
  }
  return receive_common(
      f_readv, fd, 0,
      [&](int f) {
        msghdr message{};
        message.msg_iov = const_cast<iovec*>(vector);
        message.msg_iovlen = static_cast<size_t>(count);
        return real.recvmsg(fd, &message, f);
      },
      [&] { return real.readv(fd, vector, count); });
}

// _FORTIFY_SOURCE callers (Debian builds its packages with it).
__attribute__((visibility("default"))) ssize_t __read_chk(int fd, void* buffer, size_t length, size_t buffer_length) {
  if (length > buffer_length) return use_real(real.read_chk) ? real.read_chk(fd, buffer, length, buffer_length) : (abort(), -1);  // aborts, as glibc does
  return read(fd, buffer, length);
}
__attribute__((visibility("default"))) ssize_t __recv_chk(int fd, void* buffer, size_t length, size_t buffer_length,
                                                          int flags) {
  if (length > buffer_length) return use_real(real.recv_chk) ? real.recv_chk(fd, buffer, length, buffer_length, flags) : (abort(), -1);
  return recv(fd, buffer, length, flags);
}
__attribute__((visibility("default"))) ssize_t __recvfrom_chk(int fd, void* buffer, size_t length,
                                                              size_t buffer_length, int flags, sockaddr* address,
                                                              socklen_t* address_length) {
  if (length > buffer_length)
    return use_real(real.recvfrom_chk) ? real.recvfrom_chk(fd, buffer, length, buffer_length, flags, address, address_length) : (abort(), -1);
  return recvfrom(fd, buffer, length, flags, address, address_length);
}
__attribute__((visibility("default"))) int __poll_chk(pollfd* fds, nfds_t nfds, int timeout, size_t fds_length) {
  if (fds_length / sizeof(pollfd) < nfds) return use_real(real.poll_chk) ? real.poll_chk(fds, nfds, timeout, fds_length) : (abort(), -1);
  return poll(fds, nfds, timeout);
}
__attribute__((visibility("default"))) int __ppoll_chk(pollfd* fds, nfds_t nfds, const timespec* timeout,
                                                       const sigset_t* mask, size_t fds_length) {
  if (fds_length / sizeof(pollfd) < nfds) return use_real(real.ppoll_chk) ? real.ppoll_chk(fds, nfds, timeout, mask, fds_length) : (abort(), -1);
  return ppoll(fds, nfds, timeout, mask);
}

// Descriptor changes that make a cached socket/not-socket answer stale.
__attribute__((visibility("default"))) int close(int fd) {
  forget_fd(fd);
  return use_real(real.close) ? real.close(fd) : static_cast<int>(syscall(SYS_close, fd));
}
__attribute__((visibility("default"))) int dup2(int from, int to) {
  forget_fd(to);
  return use_real(real.dup2) ? real.dup2(from, to) : static_cast<int>(syscall(SYS_dup2, from, to));
}
__attribute__((visibility("default"))) int dup3(int from, int to, int flags) {
  forget_fd(to);
  return use_real(real.dup3) ? real.dup3(from, to, flags) : static_cast<int>(syscall(SYS_dup3, from, to, flags));
}
__attribute__((visibility("default"))) int fcntl(int fd, int command, ...) {
  va_list arguments;
  va_start(arguments, command);
  void* argument = va_arg(arguments, void*);
  va_end(arguments);
  if (command == F_SETFL) forget_fd(fd);
  const int result =
      use_real(real.fcntl) ? real.fcntl(fd, command, argument) : static_cast<int>(syscall(SYS_fcntl, fd, command, argument));
  if (command == F_DUPFD || command == F_DUPFD_CLOEXEC) forget_fd(result);
  return result;
}
__attribute__((visibility("default"))) int fcntl64(int fd, int command, ...) {
  va_list arguments;
  va_start(arguments, command);
  void* argument = va_arg(arguments, void*);
  va_end(arguments);
  if (command == F_SETFL) forget_fd(fd);
  const int result =
      use_real(real.fcntl64) ? real.fcntl64(fd, command, argument) : static_cast<int>(syscall(SYS_fcntl, fd, command, argument));
  if (command == F_DUPFD || command == F_DUPFD_CLOEXEC) forget_fd(result);
  return result;
}

}  // extern "C"
