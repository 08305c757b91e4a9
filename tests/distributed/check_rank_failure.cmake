# mpirun -np 2 rank_failure 1: rank 1 throws while rank 0 waits in a barrier;
# the job must end within seconds, non-zero, with rank 1's message.
include(${CMAKE_CURRENT_LIST_DIR}/expect_prompt_failure.cmake)
expect_prompt_failure("a rank that throws" "rank 1: error: bad data on this rank"
                      ${MPIEXEC} -np 2 --oversubscribe ${PROGRAM} 1)
