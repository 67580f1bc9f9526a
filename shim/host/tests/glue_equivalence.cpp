// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Deterministic checks of the C++ glue compiled into kvm.ko
// (shim/host/core/lazyidle_kvm.cpp), run in userspace by scripts/test-host
// before anything boots:
//
//  1. halt_poll_policy=2 (the core's kvm_grow_shrink through the glue) makes
//     the same decision as the C code of Linux 6.1's kvm_vcpu_halt()
//     (copied below) on every halt of a 200000-halt trace, including a
//     change of halt_poll_ns halfway. This is the check nested TCG is too
//     noisy to make, and the shape of the test an in-tree C port of the
//     default governor would be kept equal to the core with.
//  2. halt_poll_policy=1 (the default governor) never exceeds the ceiling,
//     polls through a halt whose known timer bound is below B, and spends
//     little on a steady stream of long halts.
//  3. The in-tree form of the hook, lazyidle_kvm.c over the C port of the
//     default governor (compiled as C, its functions renamed c_kvm_*),
//     takes the same window as the C++ glue's policy 1 on every halt of a
//     200000-halt trace with a moving block cost, timer bounds and a
//     moving ceiling.
//
// No std headers: the glue defines placement new itself, as in the kernel.

#include "../core/lazyidle_kvm.cpp"

extern "C" {
int printf(const char*, ...);
// lazyidle_kvm.c, built with -Dkvm_lazyidle_x=c_kvm_lazyidle_x.
bool c_kvm_lazyidle_has_policy(unsigned int kind);
unsigned int c_kvm_lazyidle_state_size(void);
void c_kvm_lazyidle_init(void* state, unsigned int kind);
unsigned long long c_kvm_lazyidle_select(void* state, unsigned long long block_cost_ns,
                                         unsigned long long max_ns, unsigned long long bound_ns);
void c_kvm_lazyidle_reflect(void* state, unsigned long long idle_ns, unsigned long long halt_ns);
}

namespace {

using u64 = unsigned long long;

// ---- Linux 6.1 virt/kvm/kvm_main.c, grow/shrink part of kvm_vcpu_halt() ----
struct c_vcpu {
  unsigned int halt_poll_ns;
};
unsigned int halt_poll_ns_grow = 2, halt_poll_ns_grow_start = 10000, halt_poll_ns_shrink = 0;

void grow_halt_poll_ns(c_vcpu* vcpu) {
  unsigned int val = vcpu->halt_poll_ns, grow = halt_poll_ns_grow, grow_start = halt_poll_ns_grow_start;
  if (!grow) return;
  val *= grow;
  if (val < grow_start) val = grow_start;
  vcpu->halt_poll_ns = val;
}
void shrink_halt_poll_ns(c_vcpu* vcpu) {
  unsigned int val = vcpu->halt_poll_ns, shrink = halt_poll_ns_shrink, grow_start = halt_poll_ns_grow_start;
  if (shrink == 0)
    val = 0;
  else
    val /= shrink;
  if (val < grow_start) val = 0;
  vcpu->halt_poll_ns = val;
}
// Entry: the window polled for. Exit: halt_ns measured by the kernel.
unsigned int c_halt_entry(c_vcpu* vcpu, unsigned int max_halt_poll_ns) {
  if (vcpu->halt_poll_ns > max_halt_poll_ns) vcpu->halt_poll_ns = max_halt_poll_ns;
  return vcpu->halt_poll_ns;
}
void c_halt_exit(c_vcpu* vcpu, u64 halt_ns, unsigned int max_halt_poll_ns) {
  if (max_halt_poll_ns) {
    if (halt_ns <= vcpu->halt_poll_ns)
      ;
    else if (vcpu->halt_poll_ns && halt_ns > max_halt_poll_ns)
      shrink_halt_poll_ns(vcpu);
    else if (vcpu->halt_poll_ns < max_halt_poll_ns && halt_ns < max_halt_poll_ns)
      grow_halt_poll_ns(vcpu);
  } else {
    vcpu->halt_poll_ns = 0;
  }
}

// ---- trace ----------------------------------------------------------------
struct lcg {
  u64 s = 0x2545f4914f6cdd1dull;
  u64 next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return s >> 33;
  }
};

// Phases of short, medium and long idles with random lengths, like the
// 20 us / 200 us / 5 ms gaps of the VM test plus noise.
u64 idle_at(lcg& r, u64 i) {
  const u64 phase = (i / 500) % 4;
  const u64 x = r.next();
  switch (phase) {
    case 0: return 2000 + x % 40000;        // 2..42 us
    case 1: return 100000 + x % 250000;     // 100..350 us
    case 2: return 1000000 + x % 9000000;   // 1..10 ms
    default: return (x & 1) ? 5000 + x % 20000 : 3000000 + x % 3000000;  // mixed
  }
}

alignas(16) unsigned char state_buf[256];
alignas(16) unsigned char c_state_buf[256];

}  // namespace

int main() {
  int failures = 0;
  if (kvm_lazyidle_state_size() > sizeof(state_buf)) {
    printf("glue: state %u bytes > %u\n", kvm_lazyidle_state_size(), (unsigned)sizeof(state_buf));
    return 1;
  }

  // 1. policy 2 == Linux 6.1 grow/shrink, decision by decision.
  {
    kvm_lazyidle_init(state_buf, 2);
    c_vcpu vcpu{0};
    lcg r;
    const u64 latency = 30000;  // block cost: wake-to-run delay
    u64 mismatches = 0, polled = 0;
    for (u64 i = 0; i < 200000; i++) {
      const unsigned int max = i < 100000 ? 200000 : 50000;  // halt_poll_ns changes halfway
      const unsigned int c_window = c_halt_entry(&vcpu, max);
      const u64 core_window = kvm_lazyidle_select(state_buf, latency, max, ~0ull);
      if (core_window != c_window) {
        if (mismatches++ < 5) printf("glue: halt %llu: core %llu != 6.1 %u\n", i, core_window, c_window);
      }
      const u64 y = idle_at(r, i);
      const bool hit = y <= c_window;
      polled += hit;
      const u64 halt_ns = hit ? y : y + latency;  // what kvm_vcpu_halt() measures
      c_halt_exit(&vcpu, halt_ns, max);
      kvm_lazyidle_reflect(state_buf, y, halt_ns);
    }
    // The one documented difference: a change of halt_poll_ns restarts the
    // core's window from 0 while 6.1 clips it; allow the few halts after it.
    printf("glue: policy 2 vs Linux 6.1 grow/shrink: %llu mismatches in 200000 halts (%llu polled)\n",
           mismatches, polled);
    if (mismatches > 8) failures++;
  }

  // 2. policy 1: ceiling, timer bound, long halts.
  {
    kvm_lazyidle_init(state_buf, 1);
    lcg r;
    const u64 block = 40000;
    u64 over = 0, long_poll = 0, long_n = 0;
    for (u64 i = 0; i < 200000; i++) {
      const u64 y = idle_at(r, i);
      const u64 b = kvm_lazyidle_select(state_buf, block, 200000, ~0ull);
      if (b > 200000) over++;
      if ((i / 500) % 4 == 2 && i % 500 >= 100) {
        long_n++;
        long_poll += b < y ? b : y;
      }
      kvm_lazyidle_reflect(state_buf, y, y <= b ? y : y + block);
    }
    // A halt with a timer bound below B must be polled through.
    const u64 with_bound = kvm_lazyidle_select(state_buf, block, 200000, 20000);
    kvm_lazyidle_reflect(state_buf, 20000, 20000);
    printf("glue: policy 1: %llu budgets over the ceiling; %llu ns polled per long (1-10 ms) halt; "
           "budget with a 20 us bound and B = 40 us: %llu ns\n",
           over, long_n ? long_poll / long_n : 0, with_bound);
    if (over) failures++;
    if (with_bound < 20000) failures++;
    if (long_n && long_poll / long_n > block) failures++;
  }

  // 3. the C glue (in-tree form) == the C++ glue, policy 1.
  {
    if (c_kvm_lazyidle_state_size() > sizeof(c_state_buf)) {
      printf("glue: C state %u bytes > %u\n", c_kvm_lazyidle_state_size(), (unsigned)sizeof(c_state_buf));
      return 1;
    }
    kvm_lazyidle_init(state_buf, 1);
    c_kvm_lazyidle_init(c_state_buf, 1);
    lcg r;
    u64 mismatches = 0, polled = 0, bounded = 0;
    for (u64 i = 0; i < 200000; i++) {
      // B as KVM measures it (a running mean of wake latencies) moves
      // across split bins; the ceiling changes now and then.
      const u64 block = 8000 + (i / 3000) % 8 * 6000 + r.next() % 2000;
      const u64 max = (i / 50000) % 2 ? 50000 : 200000;
      const u64 y = idle_at(r, i);
      // A third of the halts know their timer: due at the idle's end or a
      // little after it (another event may come first).
      const u64 bound = r.next() % 3 == 0 ? y + r.next() % 5000 : ~0ull;
      bounded += bound != ~0ull;
      const u64 cxx = kvm_lazyidle_select(state_buf, block, max, bound);
      const u64 c = c_kvm_lazyidle_select(c_state_buf, block, max, bound);
      if (cxx != c && mismatches++ < 5)
        printf("glue: halt %llu: C++ window %llu != C window %llu (B %llu, bound %llu)\n", i, cxx, c, block, bound);
      polled += y <= cxx;
      const u64 halt_ns = y <= cxx ? y : y + block;
      kvm_lazyidle_reflect(state_buf, y, halt_ns);
      c_kvm_lazyidle_reflect(c_state_buf, y, halt_ns);
    }
    printf("glue: policy 1, C (in-tree form) vs C++: %llu mismatches in 200000 halts (%llu polled, %llu with a "
           "timer bound)\n",
           mismatches, polled, bounded);
    if (mismatches) failures++;
  }

  // The policies each glue offers (halt_poll_policy_set() refuses the rest):
  // the C port has the governor alone, the C++ core the grow/shrink model too.
  {
    const bool cxx_ok = !kvm_lazyidle_has_policy(0) && kvm_lazyidle_has_policy(1) &&
                        kvm_lazyidle_has_policy(2) && !kvm_lazyidle_has_policy(3);
    const bool c_ok = !c_kvm_lazyidle_has_policy(0) && c_kvm_lazyidle_has_policy(1) &&
                      !c_kvm_lazyidle_has_policy(2) && !c_kvm_lazyidle_has_policy(3);
    printf("glue: policies offered: C++ {1,2} %s, C {1} %s\n", cxx_ok ? "ok" : "WRONG", c_ok ? "ok" : "WRONG");
    if (!cxx_ok || !c_ok) failures++;
  }

  printf("glue: %s\n", failures ? "FAIL" : "PASS");
  return failures ? 1 : 0;
}
