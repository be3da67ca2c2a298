#pragma once
// PostgreSQL for tests: the server of ctest's "postgres" fixture (scripts/pg-test-server.sh,
// wired in tests/CMakeLists.txt), whose URI is in the file SEATD_TEST_POSTGRES_URI_FILE names.
// A test that needs it and cannot reach it fails with the reason: it is never skipped.
// Each test_database is a fresh database of its own, dropped when the object goes.

#include <string>
#include <vector>

namespace seatd::test {

// The fixture server's URI (postgresql://postgres@127.0.0.1:PORT/postgres); throws
// std::runtime_error saying what is missing when the fixture is not there.
std::string postgres_server_uri();

class test_database {
 public:
  test_database();  // CREATE DATABASE with a name no other test uses
  ~test_database();
  test_database(const test_database&) = delete;
  test_database& operator=(const test_database&) = delete;

  const std::string& name() const { return name_; }
  const std::string& uri() const { return uri_; }

  // Every row of a query, its columns joined by '|', NULL as "NULL": for exact comparisons.
  std::vector<std::string> rows(const std::string& sql) const;
  // The one value of a one-row, one-column query ("NULL" for null).
  std::string value(const std::string& sql) const;
  // Runs statements (no result wanted).
  void execute(const std::string& sql) const;
  // Every row of every table the persister writes, for before/after comparisons.
  std::vector<std::string> dump_persister_tables() const;

 private:
  std::string name_;
  std::string uri_;
};

}  // namespace seatd::test
