# Installs polygrad into a scratch prefix, then configures, builds and runs an
# outside project that uses find_package(polygrad) and the README's example.
set(prefix ${BUILD_DIR}/consumer-install)
set(cbuild ${BUILD_DIR}/consumer-build)
file(REMOVE_RECURSE ${prefix} ${cbuild})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
                RESULT_VARIABLE r OUTPUT_QUIET)
if(r)
  message(FATAL_ERROR "cmake --install failed: ${r}")
endif()
# Internal headers (a layer's detail/: nlohmann-based JSON, test hooks; its
# kernels/: the loops behind its ops) are not part of the package.
file(GLOB internal LIST_DIRECTORIES true ${prefix}/include/polygrad/*/detail
     ${prefix}/include/polygrad/*/kernels)
if(internal)
  message(FATAL_ERROR "internal headers were installed: ${internal}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${cbuild}
                        -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
                        -DPG_EXPECT_DISTRIBUTED=${EXPECT_DISTRIBUTED}
                RESULT_VARIABLE r)
if(r)
  message(FATAL_ERROR "configuring the consumer failed: ${r}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${cbuild} RESULT_VARIABLE r)
if(r)
  message(FATAL_ERROR "building the consumer failed: ${r}")
endif()
file(GLOB programs ${cbuild}/consumer_*)
foreach(p ${programs})
  execute_process(COMMAND ${p} RESULT_VARIABLE r)
  if(r)
    message(FATAL_ERROR "${p} failed: ${r}")
  endif()
endforeach()
