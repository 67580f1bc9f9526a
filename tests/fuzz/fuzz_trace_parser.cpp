// SPDX-License-Identifier: GPL-2.0-only OR MIT
// libFuzzer target for the trace parsers (plain, columns, ftrace/perf):
// any byte string must either parse or return a FILE:LINE error, never
// crash, hang or trip a sanitizer. Build: -DLAZYIDLE_BUILD_FUZZ=ON with
// clang; run: ./fuzz_trace_parser -max_total_time=60 tests/data
#include <lazyidle/hosted/trace.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lazyidle::hosted::trace t;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto error = lazyidle::hosted::parse_trace_text(text, "fuzz", t);
  if (error) {
    // Every error names the file and a line.
    if (error->message.rfind("fuzz:", 0) != 0) __builtin_trap();
    return 0;
  }
  for (const auto& e : t.events)
    if (e.cpu > 65535) __builtin_trap();
  return 0;
}
