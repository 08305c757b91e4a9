# expect_prompt_failure(WHAT STDERR_REGEX COMMAND...): runs an MPI job that
# must end within seconds (not hang), with a non-zero exit and a stderr
# matching STDERR_REGEX (the failing rank's message).
function(expect_prompt_failure what regex)
  string(TIMESTAMP t0 "%s")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 60)
  string(TIMESTAMP t1 "%s")
  math(EXPR secs "${t1} - ${t0}")
  message(STATUS "${what}: exit ${rc} after ${secs} s\n${err}")
  if(rc EQUAL 0 OR rc MATCHES "timeout")
    message(FATAL_ERROR "${what}: the job did not fail promptly (exit: ${rc})")
  endif()
  if(NOT err MATCHES "${regex}")
    message(FATAL_ERROR "${what}: stderr does not match '${regex}'")
  endif()
  if(out MATCHES "passed the barrier")
    message(FATAL_ERROR "${what}: a rank passed the barrier")
  endif()
  if(secs GREATER 30)
    message(FATAL_ERROR "${what}: the job took ${secs} s to end")
  endif()
endfunction()
