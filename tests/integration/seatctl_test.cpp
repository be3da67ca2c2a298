// seatctl and seatd-ceiling as users run them: the real binaries (paths from ctest), against a
// real seatd node on loopback. Exact output and exit codes; the bench's count relations and
// consistency check, never its timings.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness.hpp"

using namespace seatd::test;
using json = nlohmann::json;

namespace {

std::string url_of(std::uint16_t port) {
  return "http://127.0.0.1:" + std::to_string(port);
}

// seatctl with --url of the node and the admin token (unless token is given empty).
command_result seatctl(std::uint16_t port, std::vector<std::string> args,
                       const std::string& token = admin_token) {
  std::vector<std::string> argv{binary_from_env("SEATCTL_BINARY"), "--url", url_of(port)};
  if (!token.empty()) argv.insert(argv.end(), {"--token", token});
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

std::string write_temp_file(const std::string& content) {
  const std::string path = "/tmp/seatctl-test-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << content;
  return path;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("seatctl: create-event, hold, confirm, event and seats against a real node",
          "[integration]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  const auto port = node.port();
  const std::string file = write_temp_file(concert_json());

  const auto created = seatctl(port, {"create-event", "ev1", file});
  CHECK(created.exit_code == 0);
  CHECK(created.out == "created event ev1: 54 seats, 5000 GA places\n");
  CHECK(seatctl(port, {"create-event", "ev1", file}).out ==
        "event ev1 exists with this definition already: nothing changed\n");
  std::remove(file.c_str());

  const auto alice = seatctl(port, {"--json", "hold", "ev1", "--customer", "alice", "--seats",
                                    "A-1-1,A-1-2", "--ttl", "600"});
  REQUIRE(alice.exit_code == 0);
  const json alice_hold = json::parse(alice.out);
  CHECK(alice_hold["seats"] == json::array({"A-1-1", "A-1-2"}));
  CHECK(alice_hold["total_minor"] == 440000);
  const std::string alice_hold_id = alice_hold["hold_id"];

  const auto bob = seatctl(port, {"hold", "ev1", "--customer", "bob", "--seats", "A-2-5"});
  REQUIRE(bob.exit_code == 0);
  CHECK(starts_with(bob.out, "held h"));
  CHECK(bob.out.find(" for bob: A-2-5, 165000 KRW (minor units), expires 20") != std::string::npos);
  const std::string bob_hold_id = bob.out.substr(5, bob.out.find(' ', 5) - 5);

  const auto confirmed = seatctl(port, {"confirm", "ev1", alice_hold_id, "--payment-ref", "pay_1"});
  REQUIRE(confirmed.exit_code == 0);
  CHECK(starts_with(confirmed.out, "confirmed r"));
  CHECK(confirmed.out.find("(hold " + alice_hold_id +
                           ") for alice: A-1-1 A-1-2, 440000 KRW (minor units), payment pay_1\n") !=
        std::string::npos);
  const std::string reservation_id = confirmed.out.substr(10, confirmed.out.find(' ', 10) - 10);

  const auto event = seatctl(port, {"event", "ev1"});
  CHECK(event.exit_code == 0);
  CHECK(starts_with(event.out,
                    "event ev1 \"Seoul Concert Day 1\", starts 2027-03-01T10:00:00.000Z\n"
                    "                        available       held       sold    blocked\n"
                    "  all seats                    51          1          2          0\n"
                    "  category VIP                 48          0          2          0\n"));
  CHECK(event.out.find("  GA FLOOR: capacity 5000, held 0, sold 0\n") != std::string::npos);

  const auto seats = seatctl(port, {"seats", "ev1", "--section", "A"});
  CHECK(seats.exit_code == 0);
  CHECK(seats.out == "section A\n  row 1  ##" + std::string(48, '.') +
                         "\n  row 2  ...h\n('.' available, 'h' held, '#' sold, 'x' blocked)\n");

  CHECK(seatctl(port, {"block", "ev1", "A-1-50", "A-1-49"}).out ==
        "blocked 2 seats of ev1: A-1-49 A-1-50\n");
  CHECK(seatctl(port, {"seats", "ev1", "--section", "A"})
            .out.find("row 1  ##" + std::string(46, '.') + "xx\n") != std::string::npos);
  CHECK(seatctl(port, {"unblock", "ev1", "A-1-50", "A-1-49"}).out ==
        "unblocked 2 seats of ev1: A-1-49 A-1-50\n");

  const auto extended = seatctl(port, {"extend", "ev1", bob_hold_id, "--ttl", "300"});
  CHECK(starts_with(extended.out, "extended " + bob_hold_id + " for bob: A-2-5, 165000 KRW"));
  // Every mutation takes --idempotency-key: a retry answers as the first time did.
  const std::vector<std::string> release{"release", "ev1", bob_hold_id, "--idempotency-key",
                                         "rel-1"};
  CHECK(seatctl(port, release).out ==
        "released " + bob_hold_id + " for bob: A-2-5, 165000 KRW (minor units)\n");
  CHECK(seatctl(port, release).exit_code == 0);
  // The key travelled (as the header): another request with it is a reuse.
  const auto reused =
      seatctl(port, {"extend", "ev1", bob_hold_id, "--ttl", "300", "--idempotency-key", "rel-1"});
  CHECK(reused.exit_code == 1);
  CHECK(reused.err.find("idempotency_key_reused") != std::string::npos);
  const std::vector<std::string> cancel{
      "cancel", "ev1", reservation_id, "--reason", "refund", "--idempotency-key", "can-1"};
  CHECK(seatctl(port, cancel).out ==
        "cancelled " + reservation_id + ": A-1-1 A-1-2 back on sale\n");
  CHECK(seatctl(port, cancel).out ==
        "cancelled " + reservation_id + ": A-1-1 A-1-2 back on sale\n");
  CHECK(starts_with(seatctl(port, {"cluster"}).out, "answered by node n1; 1 events\n"));
}

TEST_CASE("seatctl seats: a map of more seats than a page prints whole, every page followed",
          "[integration]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  const auto port = node.port();
  // One section of 25 rows of 1,000 seats: three pages of the server's default 10,000.
  const std::string file = write_temp_file(flash_json(1, 25, 1000));
  REQUIRE(seatctl(port, {"create-event", "big", file}).exit_code == 0);
  std::remove(file.c_str());
  REQUIRE(
      seatctl(port, {"hold", "big", "--customer", "c", "--seats", "1-11-1,1-25-1000"}).exit_code ==
      0);

  std::string expected = "section 1\n";
  for (int row = 1; row <= 25; ++row) {
    std::string line(1000, '.');
    if (row == 11) line.front() = 'h';
    if (row == 25) line.back() = 'h';
    expected +=
        "  row " + std::string(row < 10 ? " " : "") + std::to_string(row) + "  " + line + "\n";
  }
  expected += "('.' available, 'h' held, '#' sold, 'x' blocked)\n";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"seats", "big"},
        std::vector<std::string>{"seats", "big", "--section", "1"}}) {
    const auto map = seatctl(port, args);
    INFO(map.err);
    CHECK(map.exit_code == 0);
    CHECK(map.out == expected);
  }
  // --json: one answer with every seat, in order, and "next": null.
  const auto as_json = seatctl(port, {"--json", "seats", "big"});
  REQUIRE(as_json.exit_code == 0);
  const json answer = json::parse(as_json.out);
  REQUIRE(answer.at("seats").size() == 25'000);
  CHECK(answer["seats"][10'000]["id"] == "1-11-1");
  CHECK(answer["seats"][10'000]["state"] == "held");
  CHECK(answer["seats"][24'999]["id"] == "1-25-1000");
  CHECK(answer.at("next").is_null());
  // An error on the way is the API's error.
  const auto unknown = seatctl(port, {"seats", "big", "--section", "9"});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err == "seatctl: invalid_request: section: the event has no section \"9\"\n");
}

TEST_CASE("seatctl: API errors exit 1 with the code on stderr, usage errors 2, no server 3",
          "[integration]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  const auto port = node.port();
  const std::string file = write_temp_file(concert_json());
  REQUIRE(seatctl(port, {"create-event", "ev1", file}).exit_code == 0);
  std::remove(file.c_str());
  REQUIRE(seatctl(port, {"hold", "ev1", "--customer", "alice", "--seats", "A-1-1"}).exit_code == 0);

  const auto taken = seatctl(port, {"hold", "ev1", "--customer", "carol", "--seats", "A-1-1"});
  CHECK(taken.exit_code == 1);
  CHECK(taken.out.empty());
  CHECK(starts_with(taken.err, "seatctl: seats_unavailable: "));
  CHECK(taken.err.find(R"({"unavailable":["A-1-1"]})") != std::string::npos);

  const auto missing = seatctl(port, {"event", "nope"});
  CHECK(missing.exit_code == 1);
  CHECK(starts_with(missing.err, "seatctl: event_not_found: "));

  const auto no_token = seatctl(port, {"event", "ev1"}, "");
  CHECK(no_token.exit_code == 1);
  CHECK(starts_with(no_token.err, "seatctl: unauthorized: "));

  // Usage: no selector, two selectors, an unknown subcommand, a file that is not there.
  CHECK(seatctl(port, {"hold", "ev1", "--customer", "x"}).exit_code == 2);
  CHECK(seatctl(port, {"hold", "ev1", "--customer", "x", "--seats", "A-1-3", "--best", "2"})
            .exit_code == 2);
  CHECK(seatctl(port, {"frobnicate"}).exit_code == 2);
  CHECK(seatctl(port, {"create-event", "ev2", "/nonexistent/ev2.json"}).exit_code == 2);
  CHECK(run_command({binary_from_env("SEATCTL_BINARY"), "--url", "ftp://x", "event", "ev1"})
            .exit_code == 2);

  const auto unreachable = seatctl(free_port(), {"event", "ev1"});
  CHECK(unreachable.exit_code == 3);
  CHECK(unreachable.err.find("cannot connect to 127.0.0.1:") != std::string::npos);
}

TEST_CASE("seatctl bench: W1 against a real node passes its consistency check", "[integration]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  const auto port = node.port();
  const auto run = seatctl(
      port, {"bench", "--create", "--budget", "2000", "--clients", "8", "--seed", "7", "--json"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const json report = json::parse(run.out);
  const json& counts = report["counts"];
  CHECK(report["event_id"] == "w1-7");
  CHECK(report["capped"] == false);
  CHECK(counts["attempts"] == 2000);
  CHECK(counts["holds"].get<int>() + counts["conflicts"].get<int>() == 2000);
  CHECK(counts["confirms"].get<int>() + counts["releases"].get<int>() ==
        counts["holds"].get<int>());
  CHECK(counts["holds"].get<int>() > 0);
  CHECK(counts["unexpected"] == 0);
  CHECK(report["latency_ms"]["hold"]["count"] == 2000);
  CHECK(report["latency_ms"]["confirm"]["count"] == counts["confirms"]);
  CHECK(report["check"]["ok"] == true);
  CHECK(report["check"]["seats_total"] == 50000);
  CHECK(report["check"]["sold_seats"] == report["check"]["ledger_seats"]);
  CHECK(report["check"]["problems"] == json::array());
  CHECK(report["passed"] == true);
  CHECK(run.err.find("bench: ") != std::string::npos);  // at least the final progress line

  // The ledger of a second run could not explain seats the first one sold: refused.
  const auto again = seatctl(port, {"bench", "--budget", "100", "--seed", "7"});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("already has held or sold seats") != std::string::npos);
  const auto absent = seatctl(port, {"bench", "--budget", "100", "--seed", "8"});
  CHECK(absent.exit_code == 1);
  CHECK(absent.err.find("no event w1-8 (pass --create") != std::string::npos);
}

TEST_CASE("seatctl bench --target-ceiling: every answer of seatd-ceiling counts as a conflict",
          "[integration]") {
  const auto port = free_port();
  background_process ceiling(
      {binary_from_env("SEATD_CEILING_BINARY"), "--listen", "127.0.0.1:" + std::to_string(port)});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool up = false;
  while (!up && std::chrono::steady_clock::now() < deadline) {
    try {
      http_client c("127.0.0.1", port);
      const auto reply = c.request("GET", "/anything");
      CHECK(reply.status == 409);
      CHECK(reply.body.find("\"error\":\"seats_unavailable\"") != std::string::npos);
      up = true;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  REQUIRE(up);
  const auto run = seatctl(
      port, {"bench", "--target-ceiling", "--budget", "300", "--clients", "4", "--json"}, "");
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const json report = json::parse(run.out);
  CHECK(report["target"] == "ceiling");
  CHECK(report["counts"]["attempts"] == 300);
  CHECK(report["counts"]["conflicts"] == 300);
  CHECK(report["counts"]["holds"] == 0);
  CHECK(report["check"]["ran"] == false);
  CHECK(report["passed"] == true);
}
