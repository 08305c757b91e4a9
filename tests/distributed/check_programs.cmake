# The training programs under mpirun (examples/common/cluster.h):
#  1. `mpirun -np 2 mnist_train --distributed`: succeeds, rank 0 alone prints
#     the summary and writes metrics.csv;
#  2. rank 1 given a corrupt data folder (MPMD: `-np 1 A : -np 1 B`) while
#     rank 0 goes on into the first collective: the job ends within seconds,
#     non-zero, with rank 1's message (a hang is what this guards against).
include(${CMAKE_CURRENT_LIST_DIR}/expect_prompt_failure.cmake)
set(out ${WORK}/dist_programs)
file(REMOVE_RECURSE ${out})
file(MAKE_DIRECTORY ${out}/bad_data)
set(common --distributed --threads 1 --epochs 1 --limit-train 256 --model mlp)

execute_process(COMMAND ${MPIEXEC} -np 2 --oversubscribe ${PROGRAM} ${common} --out ${out}/run
                RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr TIMEOUT 120)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mpirun -np 2 mnist_train --distributed failed (${rc}):\n${stdout}\n${stderr}")
endif()
string(REGEX MATCHALL "final test accuracy" finals "${stdout}")
list(LENGTH finals n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "expected one summary (rank 0's), got ${n}:\n${stdout}")
endif()
if(NOT stdout MATCHES "distributed: 2 processes" OR NOT EXISTS ${out}/run/metrics.csv)
  message(FATAL_ERROR "rank 0's header or metrics.csv is missing:\n${stdout}")
endif()

# A checkpoint written by rank 0 is loaded by every rank: resuming the
# finished run evaluates (a collective) and reports the same accuracy.
execute_process(COMMAND ${MPIEXEC} -np 2 --oversubscribe ${PROGRAM} ${common} --out ${out}/ck
                        --checkpoint-every 1
                RESULT_VARIABLE rc OUTPUT_VARIABLE first ERROR_VARIABLE err TIMEOUT 120)
execute_process(COMMAND ${MPIEXEC} -np 2 --oversubscribe ${PROGRAM} ${common} --out ${out}/ck2
                        --resume ${out}/ck/checkpoint.safetensors
                RESULT_VARIABLE rc2 OUTPUT_VARIABLE resumed ERROR_VARIABLE err2 TIMEOUT 120)
string(REGEX MATCH "final test accuracy: [0-9.]+%" acc1 "${first}")
string(REGEX MATCH "final test accuracy: [0-9.]+%" acc2 "${resumed}")
if(NOT rc EQUAL 0 OR NOT rc2 EQUAL 0 OR NOT resumed MATCHES "resumed from" OR acc1 STREQUAL ""
   OR NOT acc1 STREQUAL acc2)
  message(FATAL_ERROR "distributed resume failed (${rc}, ${rc2}; '${acc1}' vs '${acc2}'):\n"
                      "${first}\n${err}\n${resumed}\n${err2}")
endif()

# A data folder whose training images are cut short.
file(GLOB mnist ${DATA}/*.gz)
file(COPY ${mnist} DESTINATION ${out}/bad_data)
file(READ ${out}/bad_data/train-images-idx3-ubyte.gz head LIMIT 4000 HEX)
file(REMOVE ${out}/bad_data/train-images-idx3-ubyte.gz)
string(REGEX REPLACE "(..)" "\\\\x\\1" head "${head}")
execute_process(COMMAND printf "${head}" OUTPUT_FILE ${out}/bad_data/train-images-idx3-ubyte.gz)
expect_prompt_failure("bad data on rank 1"
  "rank 1: mnist_train: error: [^\n]*train-images-idx3-ubyte.gz"
  ${MPIEXEC} -np 1 --oversubscribe ${PROGRAM} ${common} --out ${out}/r0
  : -np 1 ${PROGRAM} ${common} --data ${out}/bad_data --out ${out}/r1)
