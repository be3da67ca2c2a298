# Third-party dependencies (Debian 12 packages; see scripts/install-deps.sh and
# docs/BUILDING.md for versions and pitfalls).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

# CAF 0.17 ships no CMake config: build our own imported targets.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
add_library(CAF::core INTERFACE IMPORTED)
set_target_properties(CAF::core PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES "${CAF_CORE_LIBRARY};Threads::Threads")

find_package(RocksDB CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(tomlplusplus REQUIRED)

# librdkafka and libpqxx ship no CMake config. Both rdkafka modules: the mock cluster
# (tests) and the emitter's C calls need the C library on the link line, not only rdkafka++.
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka++ rdkafka)
