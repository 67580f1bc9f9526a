// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Keeps the in-tree C port (lazyidle.h) identical to the C++ core: replays
// the same idle periods through both and compares every decision (poll
// budget, predicted idle, confidence) and every calibration step. The C++
// side is the module's own glue (lazyidle_core.cpp, the code lazyidle.ko
// runs), so a change of the library's default governor that the port does
// not follow fails here.
//
// Idle periods: the captured guest trace (power:cpu_idle, per-CPU enter to
// exit), then synthetic families chosen to hit the edges: zeros, values
// around the factor-of-two confidence test, huge values near u64 overflow,
// bimodal message-passing gaps, bursts and pauses, and block costs swept
// over DESIGN §3's 10/20/50/100 us plus random ones, with and without a
// timer bound (below, at and above B).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../lazyidle_core.h"

extern "C" {
unsigned long port_core_size(void);
void port_init(void* core);
void port_select(void* core, unsigned long long block_cost_ns, unsigned long long bound_ns,
                 unsigned long long* budget, unsigned long long* expected, unsigned int* confidence);
void port_observe(void* core, unsigned long long idle_ns);
unsigned long long port_median_step(unsigned long long estimate, unsigned long long sample);
}

namespace {

struct rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

unsigned long long decisions = 0, failures = 0;

void fail(const char* what, unsigned long long i, unsigned long long a, unsigned long long b) {
  if (++failures <= 10) std::printf("MISMATCH %s at %llu: C++ %llu, C %llu\n", what, i, a, b);
}

// One trace through both governors; B and bound chosen per idle by rng.
void replay(const char* family, const std::vector<unsigned long long>& idles, std::uint64_t seed,
            unsigned long long fixed_block_cost = 0) {
  lazyidle_gov_blob gov;
  lazyidle_core_gov_init(&gov, LAZYIDLE_GOV_DEFAULT, 512, 1024);
  alignas(16) unsigned char port[256];
  port_init(port);
  rng r{seed};
  static const unsigned long long sweep[] = {10000, 20000, 50000, 100000};
  for (unsigned long long i = 0; i < idles.size(); ++i) {
    const std::uint64_t pick = r.next();
    const unsigned long long block_cost =
        fixed_block_cost ? fixed_block_cost
        : (pick & 7) < 4 ? sweep[pick & 3]
        : (pick & 7) < 7 ? (pick >> 8) % 1000000
                         : pick >> (20 + (pick >> 60));  // huge: the u32 records saturate
    // Half without a bound; the rest spread so that bounds at, below and
    // above B all occur (the policy treats bound <= B specially).
    const unsigned long long bound = (pick >> 3) & 1 ? LAZYIDLE_NO_BOUND
                                     : (pick >> 4) & 1 ? block_cost - (block_cost ? (pick >> 40) % (block_cost + 1) : 0)
                                                       : (pick >> 12) % 5000000;
    lazyidle_decision d{};
    lazyidle_core_select(&gov, LAZYIDLE_GOV_DEFAULT, block_cost, bound, &d);
    unsigned long long budget = 0, expected = 0;
    unsigned int confidence = 0;
    port_select(port, block_cost, bound, &budget, &expected, &confidence);
    if (d.poll_budget_ns != budget) fail("budget", i, d.poll_budget_ns, budget);
    if (d.expected_ns != expected) fail("expected", i, d.expected_ns, expected);
    if (d.confidence_q10 != confidence) fail("confidence", i, d.confidence_q10, confidence);
    lazyidle_core_reflect(&gov, LAZYIDLE_GOV_DEFAULT, idles[i]);
    port_observe(port, idles[i]);
    ++decisions;
  }
  std::printf("replay %-22s %8zu idles compared\n", family, idles.size());
}

std::vector<unsigned long long> trace_idles(const char* path) {
  std::vector<unsigned long long> idles;
  const std::string command = std::string("zcat ") + path;
  FILE* in = popen(command.c_str(), "r");
  if (!in) return idles;
  char line[512];
  double enter_at[64] = {};
  bool inside[64] = {};
  while (std::fgets(line, sizeof line, in)) {
    const char* event = std::strstr(line, "cpu_idle: state=");
    if (!event) continue;
    unsigned long long state = std::strtoull(event + 16, nullptr, 10);
    const char* cpu_field = std::strstr(event, "cpu_id=");
    if (!cpu_field) continue;
    const unsigned cpu = static_cast<unsigned>(std::atoi(cpu_field + 7));
    const char* colon = event - 2;  // "<timestamp>: cpu_idle"
    const char* start = colon;
    while (start > line && start[-1] != ' ') --start;
    const double at = std::atof(start);
    if (cpu >= 64) continue;
    if (state != 4294967295ull) {
      enter_at[cpu] = at;
      inside[cpu] = true;
    } else if (inside[cpu]) {
      idles.push_back(static_cast<unsigned long long>((at - enter_at[cpu]) * 1e9 + 0.5));
      inside[cpu] = false;
    }
  }
  pclose(in);
  return idles;
}

}  // namespace

int main(int argc, char** argv) {
  if (port_core_size() > 256) {
    std::printf("FAIL: struct lazyidle_gov_core outgrew the replay test's 256 bytes\n");
    return 1;
  }
  const auto guest = argc > 1 ? trace_idles(argv[1]) : std::vector<unsigned long long>{};
  if (argc > 1 && guest.size() < 100) {
    std::printf("FAIL: trace %s gave only %zu idle periods\n", argv[1], guest.size());
    return 1;
  }
  if (!guest.empty()) replay("guest trace", guest, 1);

  rng r{42};
  std::vector<unsigned long long> edges = {0, 0, 1, 2, 3, 4, 8, 7, 15, 16, 33, 1ull << 62, (1ull << 63) + 5, ~0ull,
                                           ~0ull - 1, 0, ~0ull / 2, ~0ull / 2 + 1, 1000, 2000, 2001, 999, 500, 499};
  replay("edges", edges, 2);
  std::vector<unsigned long long> halves;
  for (int i = 0; i < 20000; ++i) halves.push_back(1000 + r.next() % 3000);  // around the x2 test
  replay("factor-of-two", halves, 3);
  std::vector<unsigned long long> bimodal;
  for (int i = 0; i < 50000; ++i) bimodal.push_back(r.next() % 10 ? 2000 + r.next() % 8000 : 1000000 + r.next() % 9000000);
  replay("message-passing", bimodal, 4);
  // Phases (bursts of messages, then pauses) under one B: the policy's
  // conditioning on the previous idle engages only here.
  std::vector<unsigned long long> phases;
  for (int burst = 0; burst < 400; ++burst)
    for (int i = 0; i < 100; ++i) phases.push_back(i < 50 ? 3000 + r.next() % 4000 : 1500000 + r.next() % 1000000);
  replay("phases, B = 20 us", phases, 6, 20000);
  replay("phases, B = 100 us", phases, 7, 100000);
  std::vector<unsigned long long> wide;
  for (int i = 0; i < 50000; ++i) wide.push_back(r.next() >> (r.next() % 64));
  replay("log-uniform", wide, 5);

  // Calibration: the running-median step of the module and of the port.
  unsigned long long steps = 0;
  for (int i = 0; i < 200000; ++i) {
    const unsigned long long estimate = i < 16 ? (i < 8 ? ~0ull - i : i) : r.next() >> (r.next() % 64);
    const unsigned long long sample = r.next() >> (r.next() % 64);
    const unsigned long long a = lazyidle_core_median_step(estimate, sample), b = port_median_step(estimate, sample);
    if (a != b) fail("median step", i, a, b);
    ++steps;
  }
  std::printf("replay %-22s %8llu steps compared\n", "median step", steps);

  if (failures) {
    std::printf("FAIL: %llu of %llu decisions differ between the C port and the C++ core\n", failures, decisions + steps);
    return 1;
  }
  std::printf("PASS: C port identical to the C++ core on %llu decisions and %llu calibration steps\n", decisions, steps);
  return 0;
}
