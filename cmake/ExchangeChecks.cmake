# The long checks, one target each (never part of `all` or ctest): what
# BENCHMARKS.md reports, rerun with `cmake --build build --target NAME`.
#
#   bench       1M- and 2M-packet captures (generated into /tmp/exchange-bench),
#               each run with the plugin against stock tshark without it (issue 15),
#               3 interleaved repetitions: wall, CPU, peak RSS and the ratios
#   bench-check the same captures, -2: the role totals against the generator's manifest
#   bench-instructions  the bench commands under callgrind: instructions, deterministic
#   fuzz        2000 mutated captures and maps under an ASan+UBSan build of the plugin
#   memcheck    valgrind memcheck over every capture in test-captures/
#   hostile     huge and absurd inputs: time, memory and results
#   gui-check   Wireshark-Qt under Xvfb; rewrites the screenshots in docs/
#   robustness  fuzz, memcheck and hostile in turn
#   matrix      build and run the whole suite on 4.0, 4.4 and 4.6 (see the end of this file)
find_program(EXCHANGE_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT EXCHANGE_PYTHON)
  find_program(EXCHANGE_PYTHON NAMES python3 REQUIRED)
endif()
set(_tests "${PROJECT_SOURCE_DIR}/tests")

add_custom_target(bench
  COMMAND "${EXCHANGE_PYTHON}" "${_tests}/bench/bench.py" --plugin "$<TARGET_FILE:exchange>"
          --generate --scales 1,2 --reps 3 --json "${CMAKE_BINARY_DIR}/bench.json"
  DEPENDS exchange USES_TERMINAL
  COMMENT "Benchmark: tshark with and without the plugin on 1M and 2M packets (about 40 minutes)")
add_custom_target(bench-check
  COMMAND "${EXCHANGE_PYTHON}" "${_tests}/bench/bench.py" --plugin "$<TARGET_FILE:exchange>"
          --generate --scales 1,2 --check
  DEPENDS exchange USES_TERMINAL
  COMMENT "Benchmark captures: roles against the generator's manifest")
add_custom_target(bench-instructions
  COMMAND "${EXCHANGE_PYTHON}" "${_tests}/bench/bench.py" --plugin "$<TARGET_FILE:exchange>"
          --generate --scales 0.1,0.2 --instructions --json "${CMAKE_BINARY_DIR}/bench-instructions.json"
  DEPENDS exchange USES_TERMINAL
  COMMENT "Benchmark in instructions (callgrind), 100k and 200k packets: deterministic ratios")
add_custom_target(fuzz
  COMMAND "${EXCHANGE_PYTHON}" "${_tests}/fuzz/fuzz.py" --cases 2000 --build "${CMAKE_BINARY_DIR}/fuzz-asan"
  USES_TERMINAL
  COMMENT "Fuzzing under AddressSanitizer and UndefinedBehaviorSanitizer (2000 cases)")
add_custom_target(memcheck
  COMMAND "${EXCHANGE_PYTHON}" "${_tests}/memcheck/memcheck.py" --plugin "$<TARGET_FILE:exchange>"
  DEPENDS exchange USES_TERMINAL
  COMMENT "valgrind memcheck over every test capture")
add_custom_target(hostile
  COMMAND "${EXCHANGE_PYTHON}" "${_tests}/hostile/hostile.py" --plugin "$<TARGET_FILE:exchange>"
  DEPENDS exchange USES_TERMINAL
  COMMENT "Hostile inputs: huge endpoint-mapper answers and bodies, 10 MB to 70 MB process maps")
add_custom_target(robustness
  COMMAND "${EXCHANGE_PYTHON}" "${_tests}/fuzz/fuzz.py" --cases 2000 --build "${CMAKE_BINARY_DIR}/fuzz-asan"
  COMMAND "${EXCHANGE_PYTHON}" "${_tests}/memcheck/memcheck.py" --plugin "$<TARGET_FILE:exchange>"
  COMMAND "${EXCHANGE_PYTHON}" "${_tests}/hostile/hostile.py" --plugin "$<TARGET_FILE:exchange>"
  DEPENDS exchange USES_TERMINAL
  COMMENT "fuzz, memcheck and hostile in turn")
add_custom_target(gui-check
  COMMAND "${PROJECT_SOURCE_DIR}/tests/gui-check/gui-check" --plugin "$<TARGET_FILE:exchange>"
          --out "${PROJECT_SOURCE_DIR}/docs"
  DEPENDS exchange USES_TERMINAL
  COMMENT "Wireshark-Qt under Xvfb with the plugin; screenshots into docs/")

# matrix: the whole suite on every supported series, one line each.
#   4.0 here (this build tree), 4.4 and 4.6 in Debian 13 / unstable root file
#   systems made with mmdebstrap under /var/cache/exchange-roles (reused when
#   present; EXCHANGE_SYSTEMS names another place).  Needs root.
add_custom_target(matrix
  COMMAND "${EXCHANGE_PYTHON}" "${PROJECT_SOURCE_DIR}/tests/matrix/matrix.py" --host-build "${CMAKE_BINARY_DIR}"
  DEPENDS exchange USES_TERMINAL
  COMMENT "Build and test on Wireshark 4.0 (here), 4.4 and 4.6 (Debian systems)")
