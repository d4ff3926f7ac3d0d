# One ctest test per pytest test, so that ctest's summary counts real tests.
# The tests run the real tshark with the module just built (see
# tests/suite/conftest.py); Debian's python3 has python3-pytest.
find_program(EXCHANGE_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT EXCHANGE_PYTHON)
  find_program(EXCHANGE_PYTHON NAMES python3 REQUIRED)
endif()

set(_tests_dir "${PROJECT_SOURCE_DIR}/tests/suite")
file(GLOB _test_files CONFIGURE_DEPENDS "${_tests_dir}/test_*.py" "${_tests_dir}/conftest.py")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_test_files})

execute_process(
  COMMAND "${EXCHANGE_PYTHON}" -m pytest --collect-only -q -p no:cacheprovider "${_tests_dir}"
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
  OUTPUT_VARIABLE _collected
  RESULT_VARIABLE _collect_rc ERROR_QUIET)
if(NOT _collect_rc EQUAL 0)
  message(FATAL_ERROR "pytest could not collect the tests (is python3-pytest installed?):\n${_collected}")
endif()

string(REPLACE "\n" ";" _lines "${_collected}")
set(_count 0)
foreach(_id IN LISTS _lines)
  if(_id MATCHES "^tests/suite/test_[a-z_]+\\.py::")
    string(REGEX REPLACE "^tests/suite/" "" _name "${_id}")
    add_test(NAME "${_name}"
             COMMAND "${EXCHANGE_PYTHON}" -m pytest -q -p no:cacheprovider "${_id}"
             WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}")
    # A hang, not a slow machine, is what a timeout must catch: the fuzz
    # run takes about 3 minutes alone and several times that beside other load.
    set(_timeout 900)
    if(_name MATCHES "^test_(fuzz|gui)\\.py::")
      set(_timeout 2400)
    endif()
    set_tests_properties("${_name}" PROPERTIES
      ENVIRONMENT "EXCHANGE_PLUGIN=$<TARGET_FILE:exchange>;EXCHANGE_VERSION=${PROJECT_VERSION};EXCHANGE_SERIES=${EXCHANGE_WS_SERIES};EXCHANGE_CLASH=$<TARGET_FILE:exchange_clash>"
      TIMEOUT ${_timeout}
      SKIP_RETURN_CODE 77)   # conftest.py: a test that was only skipped
    # Tests that build targets in this build tree (package, install-user) one at a time.
    if(_name MATCHES "^test_(packaging|repo)\\.py::")
      set_tests_properties("${_name}" PROPERTIES RESOURCE_LOCK exchange_build_tree)
    endif()
    # One Wireshark-Qt at a time: each is heavy on a 2-core machine.
    if(_name MATCHES "^test_gui\\.py::test_wireshark")
      set_tests_properties("${_name}" PROPERTIES RESOURCE_LOCK exchange_gui)
    endif()
    math(EXPR _count "${_count} + 1")
  endif()
endforeach()
message(STATUS "Registered ${_count} tests from ${_tests_dir}")

# A test module that registers names of fields we read a second time, with
# other types (test_series.py); built with the suite, never installed.
add_library(exchange_clash MODULE "${_tests_dir}/clash/clash.c")
set_target_properties(exchange_clash PROPERTIES PREFIX "" OUTPUT_NAME clash DEFINE_SYMBOL ""
                      LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
target_include_directories(exchange_clash PRIVATE "${PROJECT_SOURCE_DIR}/plugin")
target_link_libraries(exchange_clash PRIVATE epan)
exchange_strict_warnings(exchange_clash)
