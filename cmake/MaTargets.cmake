# ma_cc_library / ma_cc_test: one place that applies the warning set, sanitizers and clang-tidy
# to every target of the project (abseil's absl_cc_library idea).
#
#   ma_cc_library(NAME selector SRCS selector.cc HDRS selector.h DEPS ma::base absl::status)
#     -> target ma_selector, alias ma::selector, include root = repository root.
#   ma_cc_test(NAME selector_test SRCS selector_test.cc DEPS ma::selector)
#     -> gtest binary registered with CTest through gtest_discover_tests.

set(MA_WARNINGS
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-qual -Wformat=2
    -Wimplicit-fallthrough -Wmissing-declarations -Wundef -Wvla)
if(MA_WARNINGS_AS_ERRORS)
  list(APPEND MA_WARNINGS -Werror)
endif()
# Test code relaxes only these.
set(MA_TEST_WARNING_RELAXATIONS -Wno-sign-compare -Wno-unused-parameter -Wno-missing-declarations)

if(MA_SANITIZE)
  string(REPLACE ";" "," _ma_san "${MA_SANITIZE}")
  add_compile_options(-fsanitize=${_ma_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_ma_san})
endif()

if(MA_FUZZ)
  # Coverage instrumentation for every library; the fuzz binaries add the libFuzzer main.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

if(MA_CLANG_TIDY)
  find_program(MA_CLANG_TIDY_EXE NAMES clang-tidy-14 clang-tidy REQUIRED)
  set(_ma_tidy ${MA_CLANG_TIDY_EXE} --quiet)
  if(MA_WARNINGS_AS_ERRORS)
    list(APPEND _ma_tidy --warnings-as-errors=*)
  endif()
endif()

function(_ma_apply_common target)
  target_compile_options(${target} PRIVATE ${MA_WARNINGS})
  if(MA_CLANG_TIDY)
    set_target_properties(${target} PROPERTIES CXX_CLANG_TIDY "${_ma_tidy}")
  endif()
endfunction()

function(ma_cc_library)
  cmake_parse_arguments(MA "" "NAME" "SRCS;HDRS;DEPS;PUBLIC_DEPS" ${ARGN})
  set(target ma_${MA_NAME})
  if(MA_SRCS)
    add_library(${target} STATIC ${MA_SRCS} ${MA_HDRS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} PUBLIC ${MA_PUBLIC_DEPS} PRIVATE ${MA_DEPS})
    _ma_apply_common(${target})
  else()
    add_library(${target} INTERFACE ${MA_HDRS})
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} INTERFACE ${MA_PUBLIC_DEPS} ${MA_DEPS})
  endif()
  add_library(ma::${MA_NAME} ALIAS ${target})
endfunction()

function(ma_cc_test)
  cmake_parse_arguments(MA "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${MA_NAME} ${MA_SRCS})
  target_link_libraries(${MA_NAME} PRIVATE ${MA_DEPS} GTest::gmock GTest::gtest_main)
  _ma_apply_common(${MA_NAME})
  target_compile_options(${MA_NAME} PRIVATE ${MA_TEST_WARNING_RELAXATIONS})
  set_target_properties(${MA_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  gtest_discover_tests(${MA_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
endfunction()

# ma_fuzz_target(NAME selector_fuzz SRCS selector_fuzz.cc DEPS ma::selector): libFuzzer binary,
# only when MA_FUZZ is on (clang).
function(ma_fuzz_target)
  if(NOT MA_FUZZ)
    return()
  endif()
  cmake_parse_arguments(MA "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${MA_NAME} ${MA_SRCS})
  target_link_libraries(${MA_NAME} PRIVATE ${MA_DEPS})
  target_compile_options(${MA_NAME} PRIVATE -fsanitize=fuzzer)
  target_link_options(${MA_NAME} PRIVATE -fsanitize=fuzzer)
  set_target_properties(${MA_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
endfunction()
