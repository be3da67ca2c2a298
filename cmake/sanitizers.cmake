# Sanitizer flags apply to every target (third-party code we compile included), because
# ASan and TSan need the whole program instrumented to be trustworthy.
if(SEATD_SANITIZE AND SEATD_TSAN)
  message(FATAL_ERROR "SEATD_SANITIZE and SEATD_TSAN cannot be combined")
endif()
if(SEATD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # GCC 12 reports false "may be used uninitialized" errors inside std::variant moves when
  # ASan instruments the code (GCC PR 105616). Release builds keep the warning: the code
  # builds variants in place (result's in_place constructor) so it stays quiet there.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
endif()
if(SEATD_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  # GCC 12 warns (-Wtsan) that ThreadSanitizer does not model std::atomic_thread_fence,
  # which Boost.Asio's fenced blocks use; the warning is about TSan's coverage, not a bug in
  # our code, and -Werror would stop the build.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-tsan)
  endif()
  add_link_options(-fsanitize=thread)
endif()
if(SEATD_FUZZ)
  # Every object instrumented for coverage and checked by ASan and UBSan; only the fuzzer
  # binaries link libFuzzer's main (tests/fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
