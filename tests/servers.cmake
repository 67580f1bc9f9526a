# SPDX-License-Identifier: GPL-2.0-only OR MIT
# Smoke test of the preload library in real servers (owned by scripts/bench-servers):
# redis-server + redis-benchmark under lazyidle-run, and sockperf. Skipped (77)
# only when redis is not installed; scripts/test-all's unit step installs it.
if(LAZYIDLE_BUILD_PRELOAD AND TARGET lazyidle_run)
  add_test(NAME preload_real_server_smoke
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/servers/real_server_smoke.sh $<TARGET_FILE:lazyidle_run>)
  set_tests_properties(preload_real_server_smoke PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL ON)
endif()
