# seatd_warnings: strict warnings as errors, linked only by our own targets so that
# third-party headers (included as SYSTEM) never break the build.
add_library(seatd_warnings INTERFACE)
target_compile_options(seatd_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough -Werror)
