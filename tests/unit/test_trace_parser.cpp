// SPDX-License-Identifier: GPL-2.0-only OR MIT
// include/lazyidle/hosted/trace.hpp: plain, columns, ftrace and perf script
// text, gzip input, and FILE:LINE errors.
#include <doctest/doctest.h>

#include <lazyidle/hosted/trace.hpp>

#include <cstdio>
#include <string>

using namespace lazyidle;
using namespace lazyidle::hosted;

namespace {

std::string data(const char* name) { return std::string(LAZYIDLE_TEST_DATA_DIR) + "/" + name; }

std::string error_of(std::string_view text, std::string_view file = "t.trace") {
  trace t;
  auto e = parse_trace_text(text, file, t);
  return e ? e->message : std::string();
}

}  // namespace

TEST_CASE("plain: one duration per line, comments and blank lines skipped") {
  trace t;
  REQUIRE(!load_trace(data("sample-plain.trace"), t));
  CHECK(t.format == trace_format::plain);
  REQUIRE(t.events.size() == 3);
  CHECK(t.events[0].idle_ns == 5000);
  CHECK(t.events[1].idle_ns == 12000);
  CHECK(t.events[2].idle_ns == 700);
  CHECK(!t.has_bound);
  CHECK(t.events[0].bound_ns == no_bound);
}

TEST_CASE("columns: cpu timestamp duration [next_timer], '-' and 0 mean no bound") {
  trace t;
  REQUIRE(!load_trace(data("sample-columns.trace"), t));
  CHECK(t.format == trace_format::columns);
  REQUIRE(t.events.size() == 3);
  CHECK(t.has_bound);
  CHECK(t.events[0].bound_ns == 8000);
  CHECK(t.events[1].bound_ns == no_bound);
  CHECK(t.events[2].bound_ns == no_bound);
  CHECK(t.events[2].cpu == 1);
  CHECK(t.events[1].timestamp_ns == 9000);
}

TEST_CASE("gzip input gives the same trace") {
  trace plain, packed;
  REQUIRE(!load_trace(data("sample-columns.trace"), plain));
  REQUIRE(!load_trace(data("sample-columns.trace.gz"), packed));
  REQUIRE(plain.events.size() == packed.events.size());
  for (std::size_t i = 0; i < plain.events.size(); ++i) CHECK(plain.events[i].idle_ns == packed.events[i].idle_ns);
}

TEST_CASE("ftrace: cpu_idle pairs per CPU; LOST EVENTS breaks a pairing; stray exits are counted") {
  trace t;
  REQUIRE(!load_trace(data("sample-ftrace.trace"), t));
  CHECK(t.format == trace_format::ftrace);
  REQUIRE(t.events.size() == 3);
  CHECK(t.events[0].cpu == 0);
  CHECK(t.events[0].idle_ns == 12000);
  CHECK(t.events[1].cpu == 1);
  CHECK(t.events[1].idle_ns == 50000);  // interleaved with CPU 0, paired by cpu_id
  CHECK(t.events[2].idle_ns == 1000000);
  CHECK(t.events[2].timestamp_ns == 100000500000ull);
  CHECK(t.unpaired_exits == 2);  // the first line, and the exit after LOST
  CHECK(t.lost_breaks == 1);
  CHECK(t.skipped_lines >= 1);  // sched_switch
}

TEST_CASE("perf script: power:cpu_idle with 6 or 9 fraction digits") {
  trace t;
  REQUIRE(!load_trace(data("sample-perf.trace"), t));
  REQUIRE(t.events.size() == 2);
  CHECK(t.events[0].idle_ns == 7500);
  CHECK(t.events[1].idle_ns == 100000);
}

TEST_CASE("trace-cmd report text: its cpus= header is recognised") {
  trace t;
  REQUIRE(!parse_trace_text("cpus=2\n"
                            "          <idle>-0     [001]  7.000001: cpu_idle:             state=2 cpu_id=1\n"
                            "          <idle>-0     [001]  7.000031: cpu_idle:             state=4294967295 cpu_id=1\n",
                            "report.txt", t));
  CHECK(t.format == trace_format::ftrace);
  REQUIRE(t.events.size() == 1);
  CHECK(t.events[0].idle_ns == 30000);
  CHECK(t.events[0].cpu == 1);
}

TEST_CASE("the guest idle trace captured under QEMU parses") {
  trace t;
  REQUIRE(!load_trace(data("guest-idle-trace.txt.gz"), t));
  CHECK(t.format == trace_format::ftrace);
  CHECK(t.events.size() >= 100);  // re-captured by scripts/test-guest --save-trace; size varies
}

TEST_CASE("the captured server traces parse: waiters, timeouts as bounds") {
  for (const char* name : {"pgbench-waits.trace.gz", "redis-waits.trace.gz"}) {
    trace t;
    INFO(name);
    REQUIRE(!load_trace(data(name), t));
    CHECK(t.format == trace_format::columns);
    CHECK(t.events.size() == 10000);
    CHECK(t.has_bound);  // epoll_wait timeouts
  }
}

TEST_CASE("bad input is FILE:LINE: reason") {
  CHECK(error_of("100\n200\nabc\n") == "t.trace:3: expected one idle duration in ns (a non-negative integer)");
  CHECK(error_of("100\n-5\n").starts_with("t.trace:2: "));
  CHECK(error_of("99999999999999999999999\n").starts_with("t.trace:1: "));  // overflow
  CHECK(error_of("0 1 2\n0 1\n").starts_with("t.trace:2: "));
  CHECK(error_of("0 1 2 x\n").starts_with("t.trace:1: bad next_timer_ns"));
  CHECK(error_of("1 2\n").starts_with("t.trace:1: unrecognised format"));
  CHECK(error_of("# only a comment\n\n").starts_with("t.trace:2: no idle events"));
  CHECK(error_of("").starts_with("t.trace:0: no idle events"));
  const char* ftrace_bad =
      "  <idle>-0 [000] d..1. 1.000000: cpu_idle: state=1 cpu_id=0\n"
      "garbage line\n";
  CHECK(error_of(ftrace_bad) == "t.trace:2: not an ftrace/perf event line");
  CHECK(error_of("  <idle>-0 [000] d..1. 1.000000: cpu_idle: cpu_id=0\n").starts_with("t.trace:1: cpu_idle event without state"));
  CHECK(error_of("  <idle>-0 [000] d..1. 2.000000: cpu_idle: state=1 cpu_id=0\n"
                 "  <idle>-0 [000] d..1. 1.000000: cpu_idle: state=4294967295 cpu_id=0\n")
            .starts_with("t.trace:2: cpu_idle exit earlier"));
  trace t;
  auto e = load_trace(data("does-not-exist.trace"), t);
  REQUIRE(e);
  CHECK(e->message.find("does-not-exist.trace:0: cannot open file") != std::string::npos);
}

TEST_CASE("columns round-trip through write_columns") {
  trace t;
  REQUIRE(!load_trace(data("sample-columns.trace"), t));
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  write_columns(f, t);
  std::rewind(f);
  std::string text;
  char buffer[256];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
  std::fclose(f);
  trace back;
  REQUIRE(!parse_trace_text(text, "roundtrip", back));
  REQUIRE(back.events.size() == t.events.size());
  for (std::size_t i = 0; i < t.events.size(); ++i) {
    CHECK(back.events[i].idle_ns == t.events[i].idle_ns);
    CHECK(back.events[i].bound_ns == t.events[i].bound_ns);
    CHECK(back.events[i].cpu == t.events[i].cpu);
  }
}
