#include "postgres_fixture.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <stdexcept>

namespace seatd::test {
namespace {

std::string server_uri_with_database(const std::string& database) {
  const std::string server = postgres_server_uri();
  return server.substr(0, server.rfind('/') + 1) + database;
}

}  // namespace

std::string postgres_server_uri() {
  const char* file = std::getenv("SEATD_TEST_POSTGRES_URI_FILE");
  if (file == nullptr || *file == '\0')
    throw std::runtime_error(
        "SEATD_TEST_POSTGRES_URI_FILE is not set: run this test through ctest (its postgres "
        "fixture starts the server), or run scripts/pg-test-server.sh start DIR and set it to "
        "DIR/uri");
  std::ifstream in(file);
  std::string uri;
  if (!in || !std::getline(in, uri) || uri.empty())
    throw std::runtime_error(std::string("cannot read the PostgreSQL URI from ") + file +
                             ": did the postgres_server_start fixture run and succeed?");
  return uri;
}

test_database::test_database() {
  static std::atomic<int> created{0};
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  name_ = "seatd_test_" + std::to_string(::getpid()) + "_" + std::to_string(created++) + "_" +
          std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
  pqxx::connection server(postgres_server_uri());
  pqxx::nontransaction work(server);
  work.exec0("CREATE DATABASE " + name_);
  uri_ = server_uri_with_database(name_);
}

test_database::~test_database() {
  try {
    pqxx::connection server(postgres_server_uri());
    pqxx::nontransaction work(server);
    // FORCE: a persister killed by a test may have left its connection behind.
    work.exec0("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The server goes with the fixture anyway; a leftover database harms nothing.
  }
}

std::vector<std::string> test_database::rows(const std::string& sql) const {
  pqxx::connection connection(uri_);
  pqxx::nontransaction work(connection);
  std::vector<std::string> out;
  for (const auto& row : work.exec(sql)) {
    std::string line;
    for (pqxx::row::size_type i = 0; i < row.size(); ++i) {
      if (i > 0) line += '|';
      line += row[i].is_null() ? "NULL" : row[i].c_str();
    }
    out.push_back(line);
  }
  return out;
}

std::string test_database::value(const std::string& sql) const {
  const auto all = rows(sql);
  if (all.size() != 1) throw std::runtime_error("expected one row from: " + sql);
  return all.front();
}

void test_database::execute(const std::string& sql) const {
  pqxx::connection connection(uri_);
  pqxx::nontransaction work(connection);
  work.exec(sql);
}

std::vector<std::string> test_database::dump_persister_tables() const {
  std::vector<std::string> all;
  for (const char* table :
       {"reservations", "reservation_seats", "stream_positions", "double_sale_conflicts"}) {
    const auto table_rows =
        rows(std::string("SELECT row_to_json(t)::text FROM ") + table + " t ORDER BY 1");
    all.push_back(std::string("-- ") + table);
    all.insert(all.end(), table_rows.begin(), table_rows.end());
  }
  return all;
}

}  // namespace seatd::test
