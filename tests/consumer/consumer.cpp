// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Uses the core the way a consumer would and prints its decision, so the
// script can check the program actually ran.
#include <lazyidle/lazyidle.hpp>

#include <cstdio>

int main() {
  lazyidle::default_governor governor;
  lazyidle::cost_ledger ledger;
  const lazyidle::duration_ns block_cost = 20000;
  for (int i = 0; i < 1000; ++i) {
    const lazyidle::duration_ns idle = (i % 10 == 0) ? 2000000 : 3000;
    const auto decision = governor.select(block_cost);
    ledger.add(idle, decision.poll_budget_ns, block_cost);
    governor.reflect(idle);
  }
  std::printf("consumer ok: %llu idles, ratio %llu permille\n", ledger.idles, ledger.ratio_permille());
  return ledger.idles == 1000 ? 0 : 1;
}
