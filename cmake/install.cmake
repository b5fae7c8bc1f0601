# SPDX-License-Identifier: Apache-2.0
# cmake --install: the public headers, libtspike, the tools and their man
# pages, the licenses, a CMake package (find_package(tspike) ->
# tspike::tspike) and a pkg-config file (tspike.pc).
include(CMakePackageConfigHelpers)

install(TARGETS tspike EXPORT tspikeTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/tspike DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_BINARY_DIR}/include/tspike/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tspike)

# The tools find the library next to them: bin/../lib.
foreach(tool tsrun tsconvert tseval tsbench)
  if(TARGET ${tool})
    set_target_properties(${tool} PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
    install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

# tsbench's runners for --torch and --ort (its default --bench-dir when
# installed); `npm ci` there adds ONNX Runtime.
install(FILES ${CMAKE_SOURCE_DIR}/tools/bench/torch_eager.py ${CMAKE_SOURCE_DIR}/tools/bench/bench_nets.py
  ${CMAKE_SOURCE_DIR}/tools/bench/ort_bench.mjs
  ${CMAKE_SOURCE_DIR}/tools/bench/package.json ${CMAKE_SOURCE_DIR}/tools/bench/package-lock.json
  DESTINATION ${CMAKE_INSTALL_DATADIR}/tspike/bench)

# The license, the licenses of what the binaries include, the changelog.
install(FILES ${CMAKE_SOURCE_DIR}/LICENSE ${CMAKE_SOURCE_DIR}/CHANGELOG.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/licenses/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/licenses)
include(cmake/man.cmake)

set(TSPIKE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tspike)
install(EXPORT tspikeTargets NAMESPACE tspike:: DESTINATION ${TSPIKE_CMAKE_DIR})
configure_package_config_file(cmake/tspikeConfig.cmake.in ${CMAKE_BINARY_DIR}/tspikeConfig.cmake
  INSTALL_DESTINATION ${TSPIKE_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/tspikeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)  # 0.x: minor versions may break the API
install(FILES ${CMAKE_BINARY_DIR}/tspikeConfig.cmake ${CMAKE_BINARY_DIR}/tspikeConfigVersion.cmake
  DESTINATION ${TSPIKE_CMAKE_DIR})

# pkg-config: a static libtspike needs its dependencies on the link line.
if(BUILD_SHARED_LIBS)
  set(TSPIKE_PC_REQUIRES_PRIVATE "")
  set(TSPIKE_PC_LIBS_PRIVATE "")
else()
  set(TSPIKE_PC_REQUIRES_PRIVATE "protobuf fmt zlib libturbojpeg")
  set(TSPIKE_PC_LIBS_PRIVATE "-lonnx -lonnx_proto")
  if(TSPIKE_WITH_ONEDNN)
    string(APPEND TSPIKE_PC_LIBS_PRIVATE " -ldnnl -fopenmp")
  endif()
endif()
# Relocatable: the prefix is found from the .pc file's own directory, so
# `cmake --install build --prefix DIR` works for any DIR.
file(RELATIVE_PATH TSPIKE_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(cmake/tspike.pc.in ${CMAKE_BINARY_DIR}/tspike.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/tspike.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
