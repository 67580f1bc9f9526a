# SPDX-License-Identifier: GPL-2.0-only OR MIT
include(CMakePackageConfigHelpers)
install(DIRECTORY include/lazyidle DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(lazyidle_install_targets lazyidle lazyidle_hosted)
if(TARGET lazyidle_c)
  list(APPEND lazyidle_install_targets lazyidle_c)
endif()
install(TARGETS ${lazyidle_install_targets} EXPORT lazyidleTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT lazyidleTargets NAMESPACE lazyidle:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lazyidle)
configure_package_config_file(cmake/lazyidleConfig.cmake.in
  ${PROJECT_BINARY_DIR}/lazyidleConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lazyidle)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lazyidleConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/lazyidleConfig.cmake ${PROJECT_BINARY_DIR}/lazyidleConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lazyidle)
