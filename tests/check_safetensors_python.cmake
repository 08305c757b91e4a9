# ctest safetensors_python_reader: polygrad writes a checkpoint of real
# nn::Linear / nn::BatchNorm1d modules loaded from the PyTorch-written fixture,
# then tools/safetensors_check.py (pure Python) validates polygrad's file and
# requires torch's tensors in it, bit for bit.
# Arguments: TESTS (polygrad_tests), PYTHON, SOURCE_DIR, OUT_DIR.
file(REMOVE_RECURSE "${OUT_DIR}")
file(MAKE_DIRECTORY "${OUT_DIR}")
set(ENV{PG_INTEROP_OUT} "${OUT_DIR}")
execute_process(COMMAND "${TESTS}" "[interop-writer]" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "polygrad_tests [interop-writer] failed (${rc})")
endif()
set(file "${OUT_DIR}/polygrad_model.safetensors")
if(NOT EXISTS "${file}") # e.g. the test case was renamed: never pass vacuously
  message(FATAL_ERROR "polygrad_tests [interop-writer] wrote no ${file}")
endif()
execute_process(
  COMMAND "${PYTHON}" "${SOURCE_DIR}/tools/safetensors_check.py" check "${file}"
          --reference "${SOURCE_DIR}/tests/fixtures/checkpoint_torch_model.safetensors"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tools/safetensors_check.py rejected polygrad's ${file} (${rc})")
endif()
