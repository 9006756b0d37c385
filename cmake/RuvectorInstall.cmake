# Installs headers, the module libraries and a CMake package so that
#   find_package(ruvector_dag) + target_link_libraries(app ruvector_dag::ruvector_dag)
# works after `cmake --install`.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ruvector_dag
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ruvector_dag ${RUVECTOR_MODULE_TARGETS}
        EXPORT ruvector_dagTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT ruvector_dagTargets
        NAMESPACE ruvector_dag::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ruvector_dag)
# ruvector_dagConfig.cmake looks for libnats only if the sync library uses it.
if(RUVECTOR_SYNC_HAS_NATS)
  set(RUVECTOR_SYNC_HAS_NATS_BOOL TRUE)
else()
  set(RUVECTOR_SYNC_HAS_NATS_BOOL FALSE)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ruvector_dagConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ruvector_dagConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ruvector_dag)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ruvector_dagConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ruvector_dagConfig.cmake
              ${PROJECT_BINARY_DIR}/ruvector_dagConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ruvector_dag)
