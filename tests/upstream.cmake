# SPDX-License-Identifier: GPL-2.0-only OR MIT
# The upstream C port (shim/guest/upstream/lazyidle_algo.h) compiled as C and
# linked into tests/unit/test_upstream_equivalence.cpp, which replays the
# same traces through it and through the C++ core and compares every
# decision (docs/upstream.md). Included from tests/extra.cmake.
if(TARGET test_upstream_equivalence)
  include(CheckLanguage)
  check_language(C)
  if(CMAKE_C_COMPILER)
    enable_language(C)
    add_library(lazyidle_upstream_c STATIC ${CMAKE_CURRENT_SOURCE_DIR}/upstream/lazyidle_algo_c.c)
    # gnu11 and the warnings the kernel's own C build turns on that apply
    # to a header of static inline functions.
    set_target_properties(lazyidle_upstream_c PROPERTIES C_STANDARD 11 C_EXTENSIONS ON C_STANDARD_REQUIRED ON)
    target_compile_options(lazyidle_upstream_c PRIVATE -Wall -Wextra -Wundef -Wstrict-prototypes -Wmissing-prototypes
      -Wdeclaration-after-statement -Wvla -Wno-unused-parameter -fno-strict-aliasing
      $<$<BOOL:${LAZYIDLE_WERROR}>:-Werror>)
    # The types shim first, so <linux/types.h> is the test's, not the uapi one.
    target_include_directories(lazyidle_upstream_c BEFORE PRIVATE
      ${CMAKE_CURRENT_SOURCE_DIR}/upstream/include ${PROJECT_SOURCE_DIR}/shim/guest/upstream)
    target_include_directories(lazyidle_upstream_c PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/upstream)
    target_link_libraries(test_upstream_equivalence PRIVATE lazyidle_upstream_c)
  else()
    message(FATAL_ERROR "lazyidle: test_upstream_equivalence needs a C compiler")
  endif()
endif()

# The governor glue (shim/guest/upstream/lazyidle.c) against userspace
# stand-ins for the cpuidle core, for tests/unit/test_upstream_governor.cpp.
if(TARGET test_upstream_governor AND CMAKE_C_COMPILER)
  add_library(lazyidle_upstream_governor_c STATIC ${CMAKE_CURRENT_SOURCE_DIR}/upstream/governor_harness.c)
  set_target_properties(lazyidle_upstream_governor_c PROPERTIES C_STANDARD 11 C_EXTENSIONS ON C_STANDARD_REQUIRED ON)
  target_compile_options(lazyidle_upstream_governor_c PRIVATE -Wall -Wextra -Wundef -Wstrict-prototypes
    -Wmissing-prototypes -Wdeclaration-after-statement -Wvla -Wno-unused-parameter -fno-strict-aliasing
    $<$<BOOL:${LAZYIDLE_WERROR}>:-Werror>)
  target_include_directories(lazyidle_upstream_governor_c BEFORE PRIVATE
    ${CMAKE_CURRENT_SOURCE_DIR}/upstream/kernel-mock ${CMAKE_CURRENT_SOURCE_DIR}/upstream/include
    ${PROJECT_SOURCE_DIR}/shim/guest/upstream ${CMAKE_CURRENT_SOURCE_DIR}/upstream)
  target_link_libraries(test_upstream_governor PRIVATE lazyidle_upstream_governor_c)
endif()
