# SPDX-License-Identifier: Apache-2.0
# Sanitizer and fuzzing builds, each in its own build directory:
#   -DTSPIKE_SANITIZE=ON  AddressSanitizer + UndefinedBehaviorSanitizer (scripts/test-sanitizers.sh)
#   -DTSPIKE_TSAN=ON      ThreadSanitizer (scripts/test-tsan.sh)
#   -DTSPIKE_FUZZ=ON      libFuzzer targets in tests/fuzz, with ASan + UBSan; needs clang
#                         (scripts/fuzz.sh: CC=clang-14 CXX=clang++-14)
# Every target of the build gets the flags, so the library, the tools and the
# tests are all instrumented. Each sets TSPIKE_SANITIZED=1 for code that must
# know (a sanitizer reserves terabytes of address space, so tests that cap
# RLIMIT_AS skip that part).
option(TSPIKE_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(TSPIKE_TSAN "Build with ThreadSanitizer" OFF)
option(TSPIKE_FUZZ "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)

if((TSPIKE_SANITIZE AND TSPIKE_TSAN) OR (TSPIKE_FUZZ AND TSPIKE_TSAN))
  message(FATAL_ERROR "TSPIKE_TSAN cannot be combined with TSPIKE_SANITIZE or TSPIKE_FUZZ")
endif()

set(TSPIKE_SANITIZER_FLAGS "")
if(TSPIKE_SANITIZE OR TSPIKE_FUZZ)
  list(APPEND TSPIKE_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined)
endif()
if(TSPIKE_TSAN)
  list(APPEND TSPIKE_SANITIZER_FLAGS -fsanitize=thread)
endif()

if(TSPIKE_SANITIZER_FLAGS)
  add_compile_options(${TSPIKE_SANITIZER_FLAGS} -fno-omit-frame-pointer -g1)
  add_link_options(${TSPIKE_SANITIZER_FLAGS})
  add_compile_definitions(TSPIKE_SANITIZED=1)
endif()

if(TSPIKE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TSPIKE_FUZZ needs clang (libFuzzer): CC=clang-14 CXX=clang++-14 cmake ...")
  endif()
  # Coverage instrumentation for everything; only the fuzz targets link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
  # A fuzzing build builds the library, the tools and the fuzz targets only.
  set(TSPIKE_BUILD_TESTS OFF)
endif()
