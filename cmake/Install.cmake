# Installs the library and exports sageattn::sageattn for find_package(sageattn).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS sageattn EXPORT sageattnTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/sageattn DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT sageattnTargets NAMESPACE sageattn:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sageattn)

configure_package_config_file(cmake/sageattnConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/sageattnConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sageattn)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/sageattnConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/sageattnConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/sageattnConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sageattn)
