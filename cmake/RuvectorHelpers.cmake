# ruvector_module(<name> [DEPS <targets>...] [PRIVATE_DEPS <targets>...])
#
# Defines the static library ruvector_dag_<name> from src/<name>/*.cc (tests and
# benchmarks excluded), a test executable <name>_test from *_test.cc (when
# tests are on) and a benchmark executable <name>_benchmark from
# *_benchmark.cc (when benchmarks are on). Files are globbed so that adding a
# file to a module needs no edit here.
function(ruvector_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  set(dir ${CMAKE_CURRENT_SOURCE_DIR})
  file(GLOB_RECURSE all_sources CONFIGURE_DEPENDS ${dir}/*.cc)
  set(lib_sources ${all_sources})
  list(FILTER lib_sources EXCLUDE REGEX "(_test|_benchmark)\\.cc$")
  set(test_sources ${all_sources})
  list(FILTER test_sources INCLUDE REGEX "_test\\.cc$")
  set(bench_sources ${all_sources})
  list(FILTER bench_sources INCLUDE REGEX "_benchmark\\.cc$")

  set(target ruvector_dag_${name})
  add_library(${target} STATIC ${lib_sources})
  add_library(ruvector_dag::${target} ALIAS ${target})
  target_include_directories(${target}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
  target_link_libraries(${target} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${target})
  set(RUVECTOR_MODULE_TARGETS ${RUVECTOR_MODULE_TARGETS} ${target} CACHE INTERNAL "")

  if(RUVECTOR_BUILD_TESTS AND test_sources)
    add_executable(${name}_test ${test_sources})
    target_include_directories(${name}_test PRIVATE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${name}_test PRIVATE ${target} ${ARG_PRIVATE_DEPS}
                          GTest::gtest GTest::gtest_main GTest::gmock rapidcheck rapidcheck_gtest)
    target_compile_definitions(${name}_test PRIVATE
      RUVECTOR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    gtest_discover_tests(${name}_test DISCOVERY_TIMEOUT 60
                         PROPERTIES LABELS "unit;${name}")
  endif()
  if(RUVECTOR_BUILD_BENCHMARKS AND bench_sources)
    add_executable(${name}_benchmark ${bench_sources})
    target_include_directories(${name}_benchmark PRIVATE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${name}_benchmark PRIVATE ${target} ${ARG_PRIVATE_DEPS}
                          benchmark::benchmark benchmark::benchmark_main)
  endif()
endfunction()
