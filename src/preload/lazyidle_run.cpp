// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// lazyidle-run: run a program with liblazyidle-preload.so (docs/preload.md).
//
//   lazyidle-run [--policy NAME] [--stats[=FILE]] [--no-guards] -- program [args...]
//
// It sets LD_PRELOAD and the LAZYIDLE_* variables and execs the program:
// nothing else. It refuses, and runs nothing in their place, what the
// dynamic loader would not preload into: a statically linked executable
// (no PT_INTERP), and a set-user/group-ID one that would run in secure
// mode. Exit status: the program's; 2 for a usage error; 126 for a program
// it refuses or cannot execute; 127 when the program is not found.
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "policy_names.hpp"

namespace {

constexpr const char* library_name = "liblazyidle-preload.so";

void usage(FILE* out) {
  fprintf(out,
          "usage: lazyidle-run [--policy NAME] [--stats[=FILE]] [--no-guards] -- program [args...]\n"
          "  --policy NAME   %s (default: default)\n"
          "  --stats         a table per process on stderr at exit\n"
          "  --stats=FILE    one JSON line per process appended to FILE at exit\n"
          "  --no-guards     poll even when the machine is oversubscribed, stolen from or throttled\n"
          "Environment for LD_PRELOAD users: LAZYIDLE_POLICY, LAZYIDLE_STATS (FILE or -), LAZYIDLE_GUARDS=0,\n"
          "LAZYIDLE_POLL_YIELD=0|1, LAZYIDLE_LATENCY_WEIGHT_PCT, LAZYIDLE_PRELOAD_LIBRARY (which library this\n"
          "command preloads).\n",
          lazyidle::preload::policy_list);
}

bool readable_file(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string find_library() {
  if (const char* forced = getenv("LAZYIDLE_PRELOAD_LIBRARY"); forced && *forced) return forced;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    std::string beside = directory_of(directory_of(self));
    beside.append("/lib/").append(library_name);
    if (readable_file(beside)) return beside;
  }
#ifdef LAZYIDLE_INSTALL_LIBDIR
  std::string installed = LAZYIDLE_INSTALL_LIBDIR;
  installed.append("/").append(library_name);
  if (readable_file(installed)) return installed;
#endif
  return "";
}

// execvp's search, done here so the file can be checked before exec.
std::string find_program(const char* name) {
  if (strchr(name, '/')) return name;
  const char* path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  for (const char* start = path;;) {
    const char* end = strchr(start, ':');
    const size_t length = end ? static_cast<size_t>(end - start) : strlen(start);
    std::string candidate;
    if (length == 0)
      candidate.push_back('.');  // an empty entry is the current directory
    else
      candidate.append(start, length);
    candidate.push_back('/');
    candidate.append(name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (!end) break;
    start = end + 1;
  }
  return "";
}

enum class elf_kind { dynamic, static_executable, not_elf, unreadable };

elf_kind inspect(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return elf_kind::unreadable;
  Elf64_Ehdr header;
  elf_kind kind = elf_kind::not_elf;  // a script: its interpreter gets the preload
  if (pread(fd, &header, sizeof header, 0) == static_cast<ssize_t>(sizeof header) &&
      memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 && header.e_ident[EI_CLASS] == ELFCLASS64) {
    kind = elf_kind::static_executable;
    for (unsigned i = 0; i < header.e_phnum; ++i) {
      Elf64_Phdr program_header;
      const off_t at = static_cast<off_t>(header.e_phoff + i * static_cast<Elf64_Off>(header.e_phentsize));
      if (pread(fd, &program_header, sizeof program_header, at) != static_cast<ssize_t>(sizeof program_header)) break;
      if (program_header.p_type == PT_INTERP) {
        kind = elf_kind::dynamic;
        break;
      }
    }
  } else if (header.e_ident[EI_CLASS] == ELFCLASS32 && memcmp(header.e_ident, ELFMAG, SELFMAG) == 0) {
    kind = elf_kind::dynamic;  // the loader ignores a 64-bit preload for it, with its own message
  }
  close(fd);
  return kind;
}

}  // namespace

int main(int argc, char** argv) {
  const char* policy = nullptr;
  const char* stats = nullptr;
  bool guards = true;
  int i = 1;
  for (; i < argc; ++i) {
    const char* a = argv[i];
    if (strcmp(a, "--") == 0) {
      ++i;
      break;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (strcmp(a, "--policy") == 0 && i + 1 < argc) {
      policy = argv[++i];
    } else if (strncmp(a, "--policy=", 9) == 0) {
      policy = a + 9;
    } else if (strcmp(a, "--stats") == 0) {
      stats = "-";
    } else if (strncmp(a, "--stats=", 8) == 0 && a[8]) {
      stats = a + 8;
    } else if (strcmp(a, "--no-guards") == 0) {
      guards = false;
    } else if (a[0] == '-') {
      fprintf(stderr, "lazyidle-run: unknown option %s\n", a);
      usage(stderr);
      return 2;
    } else {
      break;  // the program, without a "--"
    }
  }
  if (i >= argc) {
    fprintf(stderr, "lazyidle-run: no program given\n");
    usage(stderr);
    return 2;
  }
  if (policy) {
    lazyidle::preload::policy_kind kind;
    unsigned long long ns = 0;
    if (!lazyidle::preload::parse_policy_name(policy, kind, ns)) {
      fprintf(stderr, "lazyidle-run: unknown policy '%s' (%s)\n", policy, lazyidle::preload::policy_list);
      return 2;
    }
  }
  const std::string library = find_library();
  if (library.empty() || !readable_file(library)) {
    fprintf(stderr, "lazyidle-run: cannot find %s beside %s or in the install prefix (set LAZYIDLE_PRELOAD_LIBRARY)\n",
            library_name, argv[0]);
    return 126;
  }
  const std::string program = find_program(argv[i]);
  if (program.empty()) {
    fprintf(stderr, "lazyidle-run: %s: command not found\n", argv[i]);
    return 127;
  }
  struct stat st;
  if (stat(program.c_str(), &st) != 0) {
    fprintf(stderr, "lazyidle-run: %s: %s\n", program.c_str(), strerror(errno));
    return errno == ENOENT ? 127 : 126;
  }
  // Secure-execution mode (ld.so(8)): the loader drops LD_PRELOAD when the
  // exec changes the real and effective IDs apart.
  if (((st.st_mode & S_ISUID) && st.st_uid != getuid()) || ((st.st_mode & S_ISGID) && st.st_gid != getgid())) {
    fprintf(stderr,
            "lazyidle-run: %s is set-user/group-ID: the dynamic loader ignores LD_PRELOAD for it, so lazyidle "
            "cannot act; not run\n",
            program.c_str());
    return 126;
  }
  switch (inspect(program)) {
    case elf_kind::static_executable:
      fprintf(stderr,
              "lazyidle-run: %s is statically linked: LD_PRELOAD cannot reach it, so lazyidle cannot act; not run\n",
              program.c_str());
      return 126;
    case elf_kind::unreadable:
      fprintf(stderr, "lazyidle-run: %s: %s\n", program.c_str(), strerror(errno));
      return 126;
    case elf_kind::dynamic:
    case elf_kind::not_elf:
      break;
  }
  std::string preload = library;
  if (const char* existing = getenv("LD_PRELOAD"); existing && *existing) preload.append(":").append(existing);
  setenv("LD_PRELOAD", preload.c_str(), 1);
  if (policy) setenv("LAZYIDLE_POLICY", policy, 1);
  if (stats) setenv("LAZYIDLE_STATS", stats, 1);
  if (!guards) setenv("LAZYIDLE_GUARDS", "0", 1);
  std::vector<char*> arguments(argv + i, argv + argc);
  arguments.push_back(nullptr);
  execv(program.c_str(), arguments.data());
  const int error = errno;
  fprintf(stderr, "lazyidle-run: %s: %s\n", program.c_str(), strerror(error));
  return error == ENOENT ? 127 : 126;
}
