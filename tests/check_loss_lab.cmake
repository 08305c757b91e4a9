# The loss lab end to end on a tiny grid (seconds): it writes the report and
# every CSV, --resume skips finished runs and reruns a missing one, and bad
# sweep syntax is a usage error naming the position.
#   cmake -DLAB=<loss_lab> -DOUT=<dir> -P check_loss_lab.cmake
file(REMOVE_RECURSE ${OUT})
set(args --losses "ce,poly1:epsilon={1,2}" --seeds 2 --epochs 1 --model mlp
    --limit-train 600 --limit-test 200 --imbalance 10 --out ${OUT})
execute_process(COMMAND ${LAB} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "loss_lab failed (${rc}):\n${out}\n${err}")
endif()
foreach(f report.html runs.csv summary.csv per_class.csv epochs.csv calibration.csv
        epsilon_sweep.png per_class_recall.png reliability.png pt_histograms.png
        gradient_anatomy.png gradient_anatomy_head_tail.png loss_curves.png)
  if(NOT EXISTS ${OUT}/${f})
    message(FATAL_ERROR "loss_lab did not write ${f}:\n${out}")
  endif()
endforeach()
file(READ ${OUT}/report.html html)
string(FIND "${html}" "data:image/png;base64," inline)
string(FIND "${html}" "http" net)
if(inline LESS 0 OR NOT net LESS 0)
  message(FATAL_ERROR "report.html must inline its images and load nothing from the network")
endif()
file(STRINGS ${OUT}/runs.csv rows)
list(LENGTH rows n)
if(NOT n EQUAL 7) # header + 3 specs x 2 seeds
  message(FATAL_ERROR "runs.csv has ${n} lines, expected 7")
endif()
if(NOT out MATCHES "ranked by balanced_accuracy" OR NOT out MATCHES "best: ")
  message(FATAL_ERROR "no ranking printed:\n${out}")
endif()
# --resume: nothing to run; then one run's result removed: exactly that one reruns
execute_process(COMMAND ${LAB} ${args} --resume RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "\\(0 to run, 6 finished before\\)")
  message(FATAL_ERROR "--resume did not skip the finished runs (${rc}):\n${out}\n${err}")
endif()
file(REMOVE ${OUT}/runs/rho10-s1-poly1_epsilon=2.json)
execute_process(COMMAND ${LAB} ${args} --resume RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "\\(1 to run, 5 finished before\\)")
  message(FATAL_ERROR "--resume did not rerun the missing run (${rc}):\n${out}\n${err}")
endif()
# bad syntax: exit 2, the position named
execute_process(COMMAND ${LAB} --losses "ce,poly1:epsilon={1,2" --out ${OUT}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "unclosed '\\{' at position 18")
  message(FATAL_ERROR "bad sweep syntax: expected exit 2 naming position 18, got ${rc}:\n${err}")
endif()
# a loss the lab cannot train a classifier with
execute_process(COMMAND ${LAB} --losses "mse" --out ${OUT}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "not a softmax classification loss")
  message(FATAL_ERROR "--losses mse: expected exit 2, got ${rc}:\n${err}")
endif()
