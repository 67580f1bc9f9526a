# SPDX-License-Identifier: GPL-2.0-only OR MIT
# lazyidle-sim tests: the engine is header-only under bench/sim, the trace
# reader uses zlib when it is found (else it pipes through gzip -dc).
find_package(ZLIB)
file(GLOB lazyidle_sim_test_sources CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sim_*.cpp ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_trace_*.cpp)
foreach(source IN LISTS lazyidle_sim_test_sources)
  get_filename_component(name ${source} NAME_WE)
  if(TARGET ${name})
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/bench/sim)
    target_compile_definitions(${name} PRIVATE LAZYIDLE_TEST_DATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/data")
    if(ZLIB_FOUND)
      target_link_libraries(${name} PRIVATE ZLIB::ZLIB)
      target_compile_definitions(${name} PRIVATE LAZYIDLE_HAVE_ZLIB)
    endif()
  endif()
endforeach()

# Command-line contract: bad input is FILE:LINE, exit 2, nothing on stdout.
if(LAZYIDLE_BUILD_BENCH)
  add_test(NAME sim_cli COMMAND sh ${PROJECT_SOURCE_DIR}/bench/sim/cli_test.sh
    $<TARGET_FILE:lazyidle-sim> ${CMAKE_CURRENT_SOURCE_DIR}/data $<TARGET_FILE:lazyidle-sim-per-idle>)
endif()

# libFuzzer target for the trace parsers (clang only).
if(LAZYIDLE_BUILD_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_executable(fuzz_trace_parser ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_trace_parser.cpp)
  target_link_libraries(fuzz_trace_parser PRIVATE lazyidle::hosted)
  # scripts/test-all runs every tests/fuzz/fuzz_* binary of the build tree.
  set_target_properties(fuzz_trace_parser PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fuzz)
  target_compile_options(fuzz_trace_parser PRIVATE -fsanitize=fuzzer,address,undefined,integer
    -fno-sanitize-recover=all -g -O1)
  target_link_options(fuzz_trace_parser PRIVATE -fsanitize=fuzzer,address,undefined,integer)
endif()

# Every poll policy and predictor header of the core has a row in the
# simulator's registry (bench/sim/registry.hpp includes it).
add_test(NAME sim_registry_complete COMMAND sh -c
  "missing=0; for f in '${PROJECT_SOURCE_DIR}'/include/lazyidle/policy/*.hpp '${PROJECT_SOURCE_DIR}'/include/lazyidle/predictor/*.hpp; do \
     h=$(basename $(dirname $f))/$(basename $f); \
     grep -q \"lazyidle/$h\" '${PROJECT_SOURCE_DIR}/bench/sim/registry.hpp' || { echo \"not in registry: $h\"; missing=1; }; \
   done; exit $missing")

# The lazyidle row against the guest driver's own reflect path: the module's
# C++ glue built in userspace.
if(TARGET test_sim_driver_reflect)
  target_sources(test_sim_driver_reflect PRIVATE ${PROJECT_SOURCE_DIR}/shim/guest/lazyidle_core.cpp)
  target_include_directories(test_sim_driver_reflect PRIVATE ${PROJECT_SOURCE_DIR}/shim/guest)
endif()
