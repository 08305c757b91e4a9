cmake_minimum_required(VERSION 3.25)
# Fails if a layer includes a layer it does not stand on, or if an installed
# header (any .h outside a detail/ or kernels/ folder) includes an internal
# one (detail/ or kernels/, not installed) or nlohmann (a private dependency),
# or if a kernels/ header does not say "(internal)" on its first line.
# Allowed dependencies:
#   core: core | autograd: core autograd | io: core io
#   nn: core autograd io nn losses | losses: core autograd losses
#   optim: core autograd io nn optim | data: core data
#   distributed (the MPI component): everything above; nothing includes it
set(allowed_core "core")
set(allowed_autograd "core;autograd")
set(allowed_io "core;io")
set(allowed_nn "core;autograd;io;nn;losses")
set(allowed_losses "core;autograd;losses")
set(allowed_optim "core;autograd;io;nn;optim")
set(allowed_data "core;data")
set(allowed_distributed "core;autograd;io;nn;losses;optim;data;distributed")
set(bad "")
foreach(layer core autograd io nn losses optim data distributed)
  # Recursive: internal headers and sources in a layer's detail/ and
  # kernels/ follow its rules too.
  file(GLOB_RECURSE files ${SOURCE_DIR}/${layer}/*.h ${SOURCE_DIR}/${layer}/*.cpp)
  foreach(f ${files})
    file(STRINGS ${f} lines REGEX "#include <polygrad/")
    foreach(l ${lines})
      string(REGEX MATCH "<polygrad/([a-z_]+)/" _ "${l}")
      set(dep ${CMAKE_MATCH_1})
      if(dep AND NOT dep IN_LIST allowed_${layer})
        list(APPEND bad "${f}: ${layer} includes ${dep}")
      elseif(NOT dep)
        list(APPEND bad "${f}: ${layer} includes the umbrella header")
      endif()
    endforeach()
    if(f MATCHES "\\.h$" AND NOT f MATCHES "/(detail|kernels)/")
      file(STRINGS ${f} internal REGEX "#include <(polygrad/[a-z_]+/(detail|kernels)/|nlohmann/)")
      if(internal)
        list(APPEND bad "${f}: an installed header includes ${internal}")
      endif()
    endif()
    if(f MATCHES "/kernels/[^/]*\\.h$")
      file(STRINGS ${f} head LIMIT_COUNT 1)
      if(NOT "${head}" MATCHES "\\(internal\\)")
        list(APPEND bad "${f}: a kernels/ header whose first line does not say (internal)")
      endif()
    endif()
  endforeach()
endforeach()
if(bad)
  string(REPLACE ";" "\n" bad "${bad}")
  message(FATAL_ERROR "layering violations:\n${bad}")
endif()
message(STATUS "layering ok")
