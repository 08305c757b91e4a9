cmake_minimum_required(VERSION 3.25)
# Fails if a public header of a layer folder is not reachable from polygrad.h,
# the umbrella header: the transitive closure of its #include <polygrad/...>
# and <polygrad-generated/...> lines must hold every header directly under
# core/ autograd/ io/ nn/ losses/ optim/ data/ except the internal ones.
# <polygrad-generated/...> headers live in the build tree
# (BUILD_DIR/include/polygrad-generated/, written at configure time): the
# walk follows them, so losses/losses.h reaches the loss headers through the
# generated <polygrad-generated/all_losses.h> and a loss header the generator
# leaves out is reported here unless it is internal by the rule below.
#
# The rule for "internal" (a header a user never includes):
#   - it is in a layer's detail/ folder (io/detail/: the JSON parser on
#     nlohmann, the atomic writer's test hook): not installed, not walked,
#     and polygrad.h must not reach one;
#   - its opening comment (the lines before `#pragma once`) says so, with
#     "(internal)", "(internal, ..." or "Not part of the public API" (the
#     losses list generator in CMakeLists.txt reads "(internal" in the first
#     two lines: both rules agree on every header marked so); or
#   - it is one of the kernel layers below the ops, installed only because
#     public headers or in-tree code need it, listed here with why:
#       core/kernels.h      raw kernels without autograd, behind the ops
#       core/elementwise.h  broadcasting loop templates behind the kernels
#       core/interleave.h   AVX-512 (de)interleaving behind the pooling kernels
#       nn/winograd.h       conv2d's Winograd algorithm, chosen by conv2d itself
#       nn/fusion.h         Sequential's peephole fusions, applied by Sequential
#                           (switched through nn/sequential.h)
#       losses/soft_targets.h  the soft-target path of cross_entropy.cpp and
#                           poly1_cross_entropy.cpp, reached through them
# The tests' helpers (tests/*.h) are in no layer folder and are not public.
# A new header is public unless it says otherwise, so forgetting to add it to
# polygrad.h (or, for a loss, marking it so the generator skips it) fails
# this test.
set(internal_by_role core/kernels.h core/elementwise.h core/interleave.h nn/winograd.h
    nn/fusion.h losses/soft_targets.h)
if(NOT BUILD_DIR)
  message(FATAL_ERROR "pass -DBUILD_DIR=<build tree> (for <polygrad-generated/...>)")
endif()

# Breadth-first walk of the include graph from polygrad.h. A source header
# is kept as its path under SOURCE_DIR ("nn/module.h"), a generated one as
# "polygrad-generated/<name>".
set(reached "")
set(queue "polygrad.h")
while(queue)
  list(POP_FRONT queue h)
  if(h IN_LIST reached)
    continue()
  endif()
  if(h MATCHES "^polygrad-generated/")
    set(file ${BUILD_DIR}/include/${h})
  else()
    set(file ${SOURCE_DIR}/${h})
  endif()
  if(NOT EXISTS ${file})
    message(FATAL_ERROR "polygrad.h reaches <${h}>, which does not exist (${file})")
  endif()
  if(h MATCHES "/detail/")
    message(FATAL_ERROR "polygrad.h reaches the internal header ${h} (detail/ is not installed)")
  endif()
  list(APPEND reached ${h})
  file(STRINGS ${file} lines REGEX "^[ \t]*#[ \t]*include[ \t]*<polygrad(-generated)?/")
  foreach(l ${lines})
    if(l MATCHES "<polygrad/([^>]+)>")
      list(APPEND queue ${CMAKE_MATCH_1})
    elseif(l MATCHES "<(polygrad-generated/[^>]+)>")
      list(APPEND queue ${CMAKE_MATCH_1})
    endif()
  endforeach()
endwhile()

set(missing "")
set(public_count 0)
foreach(layer core autograd io nn losses optim data)
  # Not recursive: detail/ folders are internal.
  file(GLOB headers RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/${layer}/*.h)
  foreach(h ${headers})
    if(h IN_LIST internal_by_role)
      continue()
    endif()
    # The opening comment: everything before `#pragma once`.
    file(READ ${SOURCE_DIR}/${h} text)
    string(FIND "${text}" "#pragma once" end)
    string(SUBSTRING "${text}" 0 ${end} opening)
    if(opening MATCHES "\\(internal[,)]|Not part of the public API")
      continue()
    endif()
    math(EXPR public_count "${public_count} + 1")
    if(NOT h IN_LIST reached)
      list(APPEND missing ${h})
    endif()
  endforeach()
endforeach()
if(missing)
  string(REPLACE ";" "\n  " missing "${missing}")
  message(FATAL_ERROR "public headers not reachable from polygrad.h (include them there, or "
                      "mark them internal as this script's comment says):\n  ${missing}")
endif()
message(STATUS "polygrad.h reaches all ${public_count} public headers")
