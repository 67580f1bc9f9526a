# SPDX-License-Identifier: GPL-2.0-only OR MIT
# Optional test groups, each owned by its directory; included from tests/CMakeLists.txt.
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/model/CMakeLists.txt)
  add_subdirectory(model)
endif()
# lazyidle-sim and trace-parser tests, trace-parser fuzzer (owned by bench/sim).
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/sim.cmake)
  include(${CMAKE_CURRENT_SOURCE_DIR}/sim.cmake)
endif()
# The upstream C port against the C++ core (owned by shim/guest/upstream).
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/upstream.cmake)
  include(${CMAKE_CURRENT_SOURCE_DIR}/upstream.cmake)
endif()
# The kernel matrix helper of the kernel-side tests (owned by scripts/lib/kernels.sh).
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/kernels.cmake)
  include(${CMAKE_CURRENT_SOURCE_DIR}/kernels.cmake)
endif()
# The preload library in real servers (owned by scripts/bench-servers).
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/servers.cmake)
  include(${CMAKE_CURRENT_SOURCE_DIR}/servers.cmake)
endif()
