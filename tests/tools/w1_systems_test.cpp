// The W1 comparison's own pieces: RESP (the Redis protocol the load tool speaks), the ledger
// check every system's final state goes through, and `seatctl bench --system redis|postgres`
// against a real redis-server and the PostgreSQL of ctest's "postgres" fixture. Never timings.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/tools/bench_report.hpp"
#include "api/tools/resp.hpp"
#include "integration/harness.hpp"
#include "integration/postgres_fixture.hpp"

using namespace seatd::tools;
using json = nlohmann::json;

TEST_CASE("resp: commands are arrays of bulk strings", "[unit][bench]") {
  CHECK(resp::command({"GET", "k"}) == "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  CHECK(resp::command({"SET", "", "a b"}) == "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$3\r\na b\r\n");
}

TEST_CASE("resp: every reply type parses, and says how many bytes it took", "[unit][bench]") {
  const auto simple = resp::parse("+OK\r\nrest");
  REQUIRE(simple);
  CHECK(simple->first.type == resp::reply::kind::simple);
  CHECK(simple->first.text == "OK");
  CHECK(simple->second == 5);

  const auto error = resp::parse("-HOLD_EXPIRED the hold is gone\r\n");
  REQUIRE(error);
  CHECK(error->first.type == resp::reply::kind::error);
  CHECK(error->first.text == "HOLD_EXPIRED the hold is gone");

  const auto integer = resp::parse(":-12\r\n");
  REQUIRE(integer);
  CHECK(integer->first.integer == -12);

  const auto bulk = resp::parse("$5\r\na\r\nbc\r\n");  // CRLF inside a bulk string is data
  REQUIRE(bulk);
  CHECK(bulk->first.text == "a\r\nbc");
  CHECK(bulk->second == 11);

  const auto nil = resp::parse("$-1\r\n");
  REQUIRE(nil);
  CHECK(nil->first.type == resp::reply::kind::nil);

  const auto array = resp::parse("*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$-1\r\n");
  REQUIRE(array);
  REQUIRE(array->first.items.size() == 2);
  CHECK(array->first.items[0].text == "0");
  REQUIRE(array->first.items[1].items.size() == 2);
  CHECK(array->first.items[1].items[1].type == resp::reply::kind::nil);
}

TEST_CASE("resp: a reply cut anywhere needs more bytes, and garbage is refused", "[unit][bench]") {
  const std::string whole = "*2\r\n$3\r\nabc\r\n:7\r\n";
  for (std::size_t cut = 0; cut < whole.size(); ++cut) {
    INFO("cut at " << cut);
    CHECK_FALSE(resp::parse(whole.substr(0, cut)));
  }
  CHECK(resp::parse(whole));
  CHECK_THROWS(resp::parse("?what\r\n"));
  CHECK_THROWS(resp::parse(":12x\r\n"));
  CHECK_THROWS(resp::parse("$3\r\nabcd\r\n"));  // a bulk string longer than it said
  CHECK_THROWS(resp::parse("\r\n"));
  std::string deep;
  for (int i = 0; i < 20; ++i)
    deep += "*1\r\n";
  CHECK_THROWS(resp::parse(deep + ":1\r\n"));
}

TEST_CASE("w1 check: a final state the ledger explains passes, and each kind of lie is named",
          "[unit][bench]") {
  const std::vector<std::vector<std::string>> ledger{{"1-1-1", "1-1-2"}, {"2-1-5"}};
  const std::vector<seat_state> honest{{"1-1-1", "sold"}, {"1-1-2", "sold"}, {"2-1-5", "sold"}};
  const check_result ok = check_ledger(honest, ledger, 50'000);
  CHECK(ok.ran);
  CHECK(ok.problems.empty());
  CHECK(ok.sold_seats == 3);
  CHECK(ok.ledger_seats == 3);
  CHECK(ok.seats_total == 50'000);

  auto problems_of = [&](std::vector<seat_state> seats, std::vector<std::vector<std::string>> l) {
    const auto check = check_ledger(seats, l, 50'000);
    REQUIRE(check.problems.size() == 1);
    return check.problems.front();
  };
  auto with = [&](seat_state extra) {
    auto seats = honest;
    seats.push_back(extra);
    return seats;
  };
  CHECK(problems_of(with({"3-3-3", "held"}), ledger) == "1 seats still held, e.g. 3-3-3");
  CHECK(problems_of(with({"3-3-3", "sold"}), ledger) ==
        "1 seats sold but not confirmed in the ledger, e.g. 3-3-3");
  CHECK(problems_of({{"1-1-1", "sold"}, {"1-1-2", "sold"}}, ledger) ==
        "1 seats confirmed in the ledger but not sold, e.g. 2-1-5");
  auto twice = ledger;
  twice.push_back({"1-1-2"});
  CHECK(problems_of(honest, twice) ==
        "1 seats in two or more confirmed holds of the ledger, e.g. 1-1-2");
}

namespace {

seatd::test::command_result seatctl(const std::string& url, std::vector<std::string> args) {
  std::vector<std::string> argv{seatd::test::binary_from_env("SEATCTL_BINARY"), "--url", url};
  argv.insert(argv.end(), args.begin(), args.end());
  return seatd::test::run_command(argv);
}

// A W1 run's report: it passed, with the relations every run must keep.
void check_passed_run(const seatd::test::command_result& run, const std::string& system) {
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const json report = json::parse(run.out);
  CHECK(report["target"] == system);
  CHECK(report["counts"]["attempts"] == 1500);
  CHECK(report["counts"]["holds"].get<int>() > 0);
  CHECK(report["counts"]["conflicts"].get<int>() > 0);
  CHECK(report["counts"]["unexpected"] == 0);
  CHECK(report["counts_consistent"] == true);
  CHECK(report["check"]["ok"] == true);
  CHECK(report["check"]["sold_seats"] == report["check"]["ledger_seats"]);
  CHECK(report["check"]["sold_seats"].get<int>() > 0);
  CHECK(report["passed"] == true);
}

const std::vector<std::string> small_run{"bench", "--budget", "1500", "--clients",
                                         "6",     "--seed",   "3",    "--json"};

std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("seatctl bench --system redis: W1 through the Lua scripts passes the ledger check",
          "[integration][bench]") {
  // Debian's redis-server (scripts/install-deps.sh); a missing one fails, never skips.
  const std::string server = "/usr/bin/redis-server";
  INFO("needs " << server << " (scripts/install-deps.sh installs it)");
  REQUIRE(::access(server.c_str(), X_OK) == 0);
  const auto port = seatd::test::free_port();
  seatd::test::background_process redis({server, "--port", std::to_string(port), "--bind",
                                         "127.0.0.1", "--save", "", "--appendonly", "no"});
  const std::string url = "redis://127.0.0.1:" + std::to_string(port);
  // Until it listens (a refused connection exits 3).
  seatd::test::command_result first;
  for (int i = 0; i < 100; ++i) {
    first = seatctl(url, plus(small_run, {"--system", "redis", "--create"}));
    if (first.exit_code != 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  check_passed_run(first, "redis");
  // The ledger of a second run could not explain the first one's seats: refused.
  const auto again = seatctl(url, plus(small_run, {"--system", "redis"}));
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("already has") != std::string::npos);
  CHECK(again.err.find("pass --create to clear them") != std::string::npos);
  // --create clears the older run's keys.
  check_passed_run(seatctl(url, plus(small_run, {"--system", "redis", "--create"})), "redis");
}

TEST_CASE(
    "seatctl bench --system postgres: W1 with a conditional UPDATE per hold passes the "
    "ledger check",
    "[integration][bench]") {
  const seatd::test::test_database db;
  const auto absent = seatctl(db.uri(), plus(small_run, {"--system", "postgres"}));
  CHECK(absent.exit_code == 1);
  CHECK(absent.err.find("no seats of event w1-3 (pass --create") != std::string::npos);
  check_passed_run(seatctl(db.uri(), plus(small_run, {"--system", "postgres", "--create"})),
                   "postgres");
  CHECK(db.value("SELECT count(*) FROM w1_seats") == "50000");
  const auto again = seatctl(db.uri(), plus(small_run, {"--system", "postgres"}));
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("already has held or sold seats") != std::string::npos);
}

TEST_CASE("seatctl bench --system: unknown systems and unreachable servers are clear errors",
          "[integration][bench]") {
  const auto unknown = seatctl("redis://127.0.0.1:1", plus(small_run, {"--system", "mysql"}));
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("mysql") != std::string::npos);
  const auto bad_url = seatctl("http://127.0.0.1:1", plus(small_run, {"--system", "redis"}));
  CHECK(bad_url.exit_code == 2);
  CHECK(bad_url.err.find("redis://HOST:PORT") != std::string::npos);
  const auto closed = seatctl("redis://127.0.0.1:" + std::to_string(seatd::test::free_port()),
                              plus(small_run, {"--system", "redis"}));
  CHECK(closed.exit_code == 3);
  CHECK(closed.err.find("cannot connect to Redis") != std::string::npos);
}
