// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Idle traces for the simulator and for users' own analyses (hosted only).
//
// Three text formats, detected from the first line that is not blank or a
// '#' comment:
//   plain    one idle duration in ns per line
//   columns  "cpu timestamp_ns duration_ns [next_timer_ns]", whitespace
//            separated; next_timer_ns is the next-timer bound at idle entry
//            (0 or '-' = none)
//   ftrace   tracefs `trace` output or `perf script` text with
//            power:cpu_idle events ("state=N cpu_id=M"; the exit is
//            state=4294967295). Entries and exits are paired per cpu_id.
//            Other events and header lines are skipped; a "LOST ... EVENTS"
//            line breaks the pairing on its CPU (every CPU when it names
//            none); an exit without an entry is skipped and counted.
// Any line that does not fit the detected format is an error reported as
// "FILE:LINE: reason"; parsing stops at the first one and no trace is
// returned, so a caller never prints results from a half-read file.
// gzip input (magic 1f 8b) is inflated with zlib when LAZYIDLE_HAVE_ZLIB is
// defined (link ZLIB::ZLIB), otherwise by piping through `gzip -dc`.
#ifndef LAZYIDLE_HOSTED_TRACE_HPP
#define LAZYIDLE_HOSTED_TRACE_HPP

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#if defined(LAZYIDLE_HAVE_ZLIB)
#include <zlib.h>
#endif

#include "../config.hpp"

namespace lazyidle::hosted {

enum class trace_format { plain, columns, ftrace };

struct trace_event {
  duration_ns idle_ns = 0;
  duration_ns bound_ns = no_bound;  // next-timer bound at entry, if the trace has one
  u32 cpu = 0;
  u64 timestamp_ns = 0;  // entry time; 0 when the format has none
};

struct trace {
  std::string name;
  trace_format format = trace_format::plain;
  std::vector<trace_event> events;
  bool has_bound = false;       // at least one event carries a next-timer bound
  bool has_timestamps = false;  // events carry entry timestamps
  u64 unpaired_exits = 0;       // ftrace: exits without an entry (skipped)
  u64 lost_breaks = 0;          // ftrace: pairings broken by LOST EVENTS
  u64 skipped_lines = 0;        // ftrace: other events and headers
};

struct parse_error {
  std::string message;  // "FILE:LINE: reason"
};

namespace detail {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Splits on whitespace into at most `max` tokens; returns the count, or
// max + 1 when there were more.
inline std::size_t split(std::string_view s, std::string_view* out, std::size_t max) {
  std::size_t n = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i >= s.size()) break;
    std::size_t j = i;
    while (j < s.size() && !is_space(s[j])) ++j;
    if (n == max) return max + 1;
    out[n++] = s.substr(i, j - i);
    i = j;
  }
  return n;
}

// Decimal u64 with overflow check; the whole token must be digits.
inline bool parse_u64(std::string_view s, u64& value) {
  if (s.empty() || s.size() > 20) return false;
  u64 v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const u64 d = static_cast<u64>(c - '0');
    if (__builtin_mul_overflow(v, 10ull, &v) || __builtin_add_overflow(v, d, &v)) return false;
  }
  value = v;
  return true;
}

// "SECONDS.FRACTION" (up to 9 fraction digits) to ns, exactly.
inline bool parse_seconds(std::string_view s, u64& ns) {
  const std::size_t dot = s.find('.');
  u64 secs = 0;
  u64 frac = 0;
  if (!parse_u64(s.substr(0, dot), secs)) return false;
  std::size_t digits = 0;
  if (dot != std::string_view::npos) {
    const std::string_view f = s.substr(dot + 1);
    if (f.empty() || f.size() > 9 || !parse_u64(f, frac)) return false;
    digits = f.size();
  }
  for (std::size_t i = digits; i < 9; ++i) frac *= 10;
  u64 r = 0;
  if (__builtin_mul_overflow(secs, 1000000000ull, &r) || __builtin_add_overflow(r, frac, &r)) return false;
  ns = r;
  return true;
}

inline std::string where(std::string_view file, std::size_t line, std::string_view reason) {
  std::string m(file);
  m += ':';
  m += std::to_string(line);
  m += ": ";
  m += reason;
  return m;
}

inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Looks for "key=value" with a decimal value anywhere in s.
inline bool find_field(std::string_view s, std::string_view key, u64& value) {
  std::size_t pos = 0;
  while ((pos = s.find(key, pos)) != std::string_view::npos) {
    const bool word_start = pos == 0 || is_space(s[pos - 1]) || s[pos - 1] == ',';
    const std::size_t v = pos + key.size();
    if (word_start && v < s.size() && s[v] == '=') {
      std::size_t e = v + 1;
      while (e < s.size() && s[e] >= '0' && s[e] <= '9') ++e;
      return parse_u64(s.substr(v + 1, e - v - 1), value);
    }
    pos = v;
  }
  return false;
}

// An ftrace / perf script event line: "... TIMESTAMP: [subsys:]event: payload"
// (ftrace: "<idle>-0 [001] d..1. 12.345678: cpu_idle: state=1 cpu_id=1",
//  perf:   "swapper 0 [001] 12.345678: power:cpu_idle: state=1 cpu_id=1").
// Returns false when the line has no "SECONDS.FRACTION:" token followed by
// an event name, i.e. it is not an event line at all.
struct event_line {
  u64 timestamp_ns = 0;
  std::string_view event;    // without subsystem prefix and colon
  std::string_view payload;  // after the event name
};

inline bool parse_event_line(std::string_view line, event_line& out) {
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    std::size_t j = i;
    while (j < line.size() && !is_space(line[j])) ++j;
    const std::string_view token = line.substr(i, j - i);
    if (token.size() >= 3 && token.back() == ':' && token.find('.') != std::string_view::npos &&
        token[0] >= '0' && token[0] <= '9') {
      u64 ts = 0;
      if (parse_seconds(token.substr(0, token.size() - 1), ts)) {
        std::size_t k = j;
        while (k < line.size() && is_space(line[k])) ++k;
        std::size_t e = k;
        while (e < line.size() && !is_space(line[e])) ++e;
        std::string_view name = line.substr(k, e - k);
        if (name.size() < 2 || name.back() != ':') return false;
        name.remove_suffix(1);
        // Drop a "subsystem:" prefix (perf's "power:cpu_idle").
        for (std::size_t c = name.size(); c > 0; --c)
          if (name[c - 1] == ':') {
            name = name.substr(c);
            break;
          }
        if (name.empty()) return false;
        out.timestamp_ns = ts;
        out.event = name;
        out.payload = line.substr(e);
        return true;
      }
    }
    i = j;
  }
  return false;
}

}  // namespace detail

// Parses trace text (already decompressed). file_name only labels errors and
// the trace. Never throws on bad input; returns the first error instead.
inline std::optional<parse_error> parse_trace_text(std::string_view text, std::string_view file_name,
                                                   trace& out) {
  using namespace detail;
  out = trace{};
  out.name = std::string(file_name);
  bool detected = false;
  constexpr u64 exit_state = 4294967295ull;
  std::unordered_map<u64, u64> pending;  // ftrace: cpu -> entry timestamp
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#') {
      if (out.format == trace_format::ftrace) ++out.skipped_lines;
      continue;
    }
    if (line.find('\0') != std::string_view::npos) return parse_error{where(file_name, line_no, "NUL byte in text")};
    if (!detected) {
      event_line ev;
      if (line.find("LOST") != std::string_view::npos || parse_event_line(line, ev) || starts_with(line, "cpus=") ||
          starts_with(line, "version =")) {
        out.format = trace_format::ftrace;
        out.has_timestamps = true;
      } else {
        std::string_view tok[5];
        const std::size_t n = split(line, tok, 4);
        if (n == 1) {
          out.format = trace_format::plain;
        } else if (n == 3 || n == 4) {
          out.format = trace_format::columns;
          out.has_timestamps = true;
        } else {
          return parse_error{where(file_name, line_no,
                                   "unrecognised format: expected an idle duration in ns, "
                                   "'cpu timestamp_ns duration_ns [next_timer_ns]', or ftrace/perf "
                                   "power:cpu_idle text")};
        }
      }
      detected = true;
    }
    switch (out.format) {
      case trace_format::plain: {
        u64 v = 0;
        if (!parse_u64(line, v))
          return parse_error{where(file_name, line_no, "expected one idle duration in ns (a non-negative integer)")};
        out.events.push_back({v, no_bound, 0, 0});
        break;
      }
      case trace_format::columns: {
        std::string_view tok[5];
        const std::size_t n = split(line, tok, 4);
        if (n != 3 && n != 4)
          return parse_error{where(file_name, line_no, "expected 'cpu timestamp_ns duration_ns [next_timer_ns]'")};
        u64 cpu = 0, ts = 0, dur = 0, bound = 0;
        if (!parse_u64(tok[0], cpu) || cpu > 65535)
          return parse_error{where(file_name, line_no, "bad cpu number (0..65535)")};
        if (!parse_u64(tok[1], ts)) return parse_error{where(file_name, line_no, "bad timestamp_ns")};
        if (!parse_u64(tok[2], dur)) return parse_error{where(file_name, line_no, "bad duration_ns")};
        duration_ns b = no_bound;
        if (n == 4 && tok[3] != "-") {
          if (!parse_u64(tok[3], bound)) return parse_error{where(file_name, line_no, "bad next_timer_ns")};
          if (bound != 0) {
            b = bound;
            out.has_bound = true;
          }
        }
        out.events.push_back({dur, b, static_cast<u32>(cpu), ts});
        break;
      }
      case trace_format::ftrace: {
        if (line.find("LOST") != std::string_view::npos && line.find("EVENTS") != std::string_view::npos) {
          // ftrace: "CPU:1 [LOST 12 EVENTS]"; perf: "... LOST 12 EVENTS ..." maybe without CPU.
          const std::size_t c = line.find("CPU:");
          u64 cpu = 0;
          bool named = false;
          if (c != std::string_view::npos) {
            std::size_t e = c + 4;
            while (e < line.size() && line[e] >= '0' && line[e] <= '9') ++e;
            named = parse_u64(line.substr(c + 4, e - c - 4), cpu);
          }
          if (named) {
            if (pending.erase(cpu)) ++out.lost_breaks;
          } else {
            out.lost_breaks += pending.size();
            pending.clear();
          }
          break;
        }
        event_line ev;
        if (!parse_event_line(line, ev)) {
          // tracefs/trace-cmd headers that are not '#' comments.
          if (starts_with(line, "cpus=") || starts_with(line, "version =") ||
              (starts_with(line, "CPU ") && line.find("is empty") != std::string_view::npos)) {
            ++out.skipped_lines;
            break;
          }
          return parse_error{where(file_name, line_no, "not an ftrace/perf event line")};
        }
        if (ev.event != "cpu_idle") {
          ++out.skipped_lines;
          break;
        }
        u64 state = 0, cpu = 0;
        if (!find_field(ev.payload, "state", state))
          return parse_error{where(file_name, line_no, "cpu_idle event without state=N")};
        if (!find_field(ev.payload, "cpu_id", cpu) || cpu > 65535)
          return parse_error{where(file_name, line_no, "cpu_idle event without cpu_id=N (0..65535)")};
        if (state != exit_state) {
          if (state > 64) return parse_error{where(file_name, line_no, "cpu_idle state out of range")};
          pending[cpu] = ev.timestamp_ns;  // a second entry replaces an unfinished one
        } else {
          auto it = pending.find(cpu);
          if (it == pending.end()) {
            ++out.unpaired_exits;
          } else {
            if (ev.timestamp_ns < it->second)
              return parse_error{where(file_name, line_no, "cpu_idle exit earlier than its entry")};
            out.events.push_back({ev.timestamp_ns - it->second, no_bound, static_cast<u32>(cpu), it->second});
            pending.erase(it);
          }
        }
        break;
      }
    }
  }
  if (!detected) return parse_error{where(file_name, line_no, "no idle events in trace")};
  return std::nullopt;
}

// Reads a whole file (gzip-compressed or not) into text.
inline std::optional<parse_error> read_file_text(const std::string& path, std::string& text) {
  text.clear();
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return parse_error{path + ":0: cannot open file"};
  std::string raw;
  char buffer[65536];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) raw.append(buffer, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return parse_error{path + ":0: read error"};
  const bool gzip = raw.size() >= 2 && static_cast<unsigned char>(raw[0]) == 0x1f &&
                    static_cast<unsigned char>(raw[1]) == 0x8b;
  if (!gzip) {
    text = std::move(raw);
    return std::nullopt;
  }
#if defined(LAZYIDLE_HAVE_ZLIB)
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return parse_error{path + ":0: zlib init failed"};
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof buffer;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return parse_error{path + ":0: corrupt gzip data"};
    }
    text.append(buffer, sizeof buffer - zs.avail_out);
    if (rc == Z_STREAM_END && zs.avail_in > 0) {  // concatenated members
      inflateReset(&zs);
      rc = Z_OK;
    } else if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return parse_error{path + ":0: truncated gzip data"};
    }
  }
  inflateEnd(&zs);
  return std::nullopt;
#else
  std::string quoted = "'";
  for (char c : path) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  quoted += "'";
  std::FILE* p = ::popen(("gzip -dc -- " + quoted + " 2>/dev/null").c_str(), "r");
  if (!p) return parse_error{path + ":0: cannot run gzip -dc"};
  while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0) text.append(buffer, n);
  if (::pclose(p) != 0) return parse_error{path + ":0: corrupt gzip data (gzip -dc failed)"};
  return std::nullopt;
#endif
}

inline std::optional<parse_error> load_trace(const std::string& path, trace& out) {
  std::string text;
  if (auto e = read_file_text(path, text)) return e;
  return parse_trace_text(text, path, out);
}

// Writes the columns format (round-trips through parse_trace_text).
inline void write_columns(std::FILE* f, const trace& t) {
  std::fprintf(f, "# cpu timestamp_ns duration_ns next_timer_ns\n");
  for (const trace_event& e : t.events) {
    if (e.bound_ns == no_bound)
      std::fprintf(f, "%u %llu %llu -\n", e.cpu, e.timestamp_ns, e.idle_ns);
    else
      std::fprintf(f, "%u %llu %llu %llu\n", e.cpu, e.timestamp_ns, e.idle_ns, e.bound_ns);
  }
}

}  // namespace lazyidle::hosted

#endif
