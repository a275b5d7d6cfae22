# `cmake --install`: the libraries an outside engine links, their public headers, the
# `powercut` CLI, and a relocatable CMake package (find_package(powercut)) with the
# ctest helpers of PowercutCTest.cmake. CPack makes a .deb of the same set.
#
# Targets (namespace powercut::): runtime (fibers, sync, the BlockDevice interface),
# sim (world, simulated SSD and pmem), faults, posix (real files and devices), harness
# (oracle, workloads, crash check), engines and bindings (the built-in engines and the
# scenario machinery: registry, families, replay files, shrink), inspect, cli (RunCli,
# with the built-in bindings). Mutant builds and test helpers are not installed.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(POWERCUT_VERSION 0.1.0)

set(_powercut_exported
  runtime sim faults posix harness engines inspect bindings cli_lib cli_main)
foreach(name IN LISTS _powercut_exported)
  set_target_properties(powercut_${name} PROPERTIES EXPORT_NAME ${name})
endforeach()
list(TRANSFORM _powercut_exported PREPEND powercut_)

# Installed, the command library declares the one bindings flavour there is, so a
# consumer may list powercut::cli in any order (in the tree, each executable chooses).
target_link_libraries(powercut_cli_lib INTERFACE $<INSTALL_INTERFACE:powercut::bindings>)

# powercut::cli: what a project's own command line links (its main() registers its
# engine and calls powercut::tools::RunCli).
add_library(powercut_cli INTERFACE)
target_link_libraries(powercut_cli INTERFACE powercut_cli_main powercut_cli_lib powercut_bindings)
set_target_properties(powercut_cli PROPERTIES EXPORT_NAME cli)

install(TARGETS ${_powercut_exported} powercut_cli EXPORT powercutTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS powercut RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Public headers: the interfaces an engine codes against and what the harness, the
# scenario machinery and RunCli expose. Engine internals, test helpers (*_for_test.h)
# and the built-in bindings' own headers stay out.
set(_powercut_header_dirs engine/io engine/runtime engine/posix sim faults harness scenario)
foreach(dir IN LISTS _powercut_header_dirs)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/powercut/${dir}
    FILES_MATCHING PATTERN "*.h"
    PATTERN "*_for_test.h" EXCLUDE
    PATTERN "*_test.h" EXCLUDE
    PATTERN "internal" EXCLUDE)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/bindings/engine_registry.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/powercut/bindings)
install(FILES ${PROJECT_SOURCE_DIR}/tools/powercut/cli_main.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/powercut/tools/powercut)

set(_powercut_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/powercut)
install(EXPORT powercutTargets NAMESPACE powercut:: DESTINATION ${_powercut_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/powercutConfig.cmake.in
  ${PROJECT_BINARY_DIR}/powercutConfig.cmake INSTALL_DESTINATION ${_powercut_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/powercutConfigVersion.cmake
  VERSION ${POWERCUT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/powercutConfig.cmake
  ${PROJECT_BINARY_DIR}/powercutConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/PowercutCTest.cmake
  DESTINATION ${_powercut_cmake_dir})

# The Debian package: libraries, headers, the CMake package and the CLI, as a -dev
# package whose dependencies are the Debian packages the libraries need.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME powercut-dev)
set(CPACK_PACKAGE_VERSION ${POWERCUT_VERSION})
set(CPACK_PACKAGE_CONTACT "powercut maintainers <maintainers@powercut.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "deterministic crash-consistency verifier for block-storage engines (library, headers, CLI)")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "libabsl-dev, libboost-context-dev, liburing-dev, libblkid-dev, nlohmann-json3-dev, libcli11-dev, pkg-config, cmake (>= 3.25)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)

# The package proven from outside: install, build examples/cow_store against the prefix
# alone, run its tests, build and inspect the .deb (scripts/check_install.sh). Sanitizer
# and fuzz builds are left out: their libraries need their compiler flags in the
# consumer too.
if(NOT POWERCUT_SANITIZE AND NOT POWERCUT_FUZZ)
  add_test(NAME install COMMAND ${PROJECT_SOURCE_DIR}/scripts/check_install.sh ${PROJECT_BINARY_DIR})
  set_tests_properties(install PROPERTIES LABELS e2e TIMEOUT 900)
endif()
