cmake_minimum_required(VERSION 3.25)
# Fails if a public header of a layer folder is not reachable from polygrad.h,
# the umbrella header: the transitive closure of its #include <polygrad/...>
# lines must hold every header under core/ autograd/ nn/ losses/ optim/ data/
# except the internal ones.
#
# The rule for "internal" (a header a user never includes; it is installed
# only because public headers or in-tree code need it):
#   - its opening comment (the lines before `#pragma once`) says so, with
#     "(internal)", "(internal, ..." or "Not part of the public API"; or
#   - it is one of the kernel layers below the ops, listed here with why:
#       core/kernels.h      raw kernels without autograd, behind the ops
#       core/elementwise.h  broadcasting loop templates behind the kernels
#       core/interleave.h   AVX-512 (de)interleaving behind the pooling kernels
#       nn/winograd.h       conv2d's Winograd algorithm, chosen by conv2d itself
#       nn/fusion.h         Sequential's peephole fusions, applied by Sequential
#       nn/json.h           the checkpoint header's JSON, used by checkpoint.cpp
#       losses/soft_targets.h  the soft-target path of cross_entropy.cpp and
#                           poly1_cross_entropy.cpp, reached through them
# A new header is public unless it says otherwise, so forgetting to add it to
# polygrad.h fails this test.
set(internal_by_role core/kernels.h core/elementwise.h core/interleave.h nn/winograd.h
    nn/fusion.h nn/json.h losses/soft_targets.h)

# Breadth-first walk of the include graph from polygrad.h.
set(reached "")
set(queue "polygrad.h")
while(queue)
  list(POP_FRONT queue h)
  if(h IN_LIST reached)
    continue()
  endif()
  if(NOT EXISTS ${SOURCE_DIR}/${h})
    message(FATAL_ERROR "polygrad.h reaches <polygrad/${h}>, which does not exist")
  endif()
  list(APPEND reached ${h})
  file(STRINGS ${SOURCE_DIR}/${h} lines REGEX "^[ \t]*#[ \t]*include[ \t]*<polygrad/")
  foreach(l ${lines})
    if(l MATCHES "<polygrad/([^>]+)>")
      list(APPEND queue ${CMAKE_MATCH_1})
    endif()
  endforeach()
endwhile()

set(missing "")
set(public_count 0)
foreach(layer core autograd nn losses optim data)
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
