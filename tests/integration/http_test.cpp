// Process tests of the HTTP layer against a black-box attacker (issue 9): request smuggling,
// connection floods, header tricks, bodies with trailing bytes and clients that never read.
// Each test starts a real seatd on loopback and speaks raw bytes to it.

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

using namespace seatd::test;
using json = nlohmann::json;

namespace {

const std::string admin = admin_token;
const std::string gateway = gateway_token;

void create_concert(http_client& c) {
  REQUIRE(c.request("PUT", "/v1/events/ev1", concert_json(), admin).status == 201);
}

// The seats held on ev1, read on a connection of its own.
int held_seats(const seatd_process& node) {
  auto c = node.client();
  const auto r = c.request("GET", "/v1/events/ev1", "", gateway);
  REQUIRE(r.status == 200);
  return json::parse(r.body)["counts"]["held"].get<int>();
}

// A complete hold request: what an attacker hides in the body of an outer request.
std::string hold_request() {
  const std::string body = R"({"customer_id":"smuggler","seats":["A-1-1"]})";
  return "POST /v1/events/ev1/holds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + gateway +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// An outer request with the given framing headers, whose body is a complete hold request.
std::string smuggling(const std::string& framing) {
  return "POST /nowhere HTTP/1.1\r\nHost: x\r\n" + framing + "\r\n" + hold_request();
}

struct smuggling_case {
  const char* name;
  std::string framing;
  unsigned status;  // 400 malformed, 501 an unknown coding
};

std::vector<smuggling_case> smuggling_cases() {
  return {
      {"identity", "Transfer-Encoding: identity\r\n", 501},
      {"gzip", "Transfer-Encoding: gzip\r\n", 501},
      {"empty", "Transfer-Encoding: \r\n", 400},
      {"quoted chunked", "Transfer-Encoding: \"chunked\"\r\n", 400},
      {"gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n", 501},
      {"chunked, gzip", "Transfer-Encoding: chunked, gzip\r\n", 501},
      {"two TE headers", "Transfer-Encoding: gzip\r\nTransfer-Encoding: identity\r\n", 400},
      {"TE and CL", "Transfer-Encoding: gzip\r\nContent-Length: 0\r\n", 400},
      {"duplicate CL", "Content-Length: 0\r\nContent-Length: 0\r\n", 400},
      {"differing CL", "Content-Length: 0\r\nContent-Length: 1\r\n", 400},
      {"chunked twice", "Transfer-Encoding: chunked, chunked\r\n", 400},
  };
}

}  // namespace

TEST_CASE("http: a body behind an unusable framing never runs as a second request",
          "[integration]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  auto setup = node.client();
  create_concert(setup);
  for (const auto& shape : smuggling_cases()) {
    INFO("framing: " << shape.name);
    http_client attacker("127.0.0.1", node.port());
    auto outer = attacker.read_or_closed_after(smuggling(shape.framing));
    CHECK(outer.status == shape.status);
    CHECK(outer.headers["connection"] == "close");
    // Nothing follows: the smuggled request got no answer, and the connection is closed.
    CHECK(attacker.read_or_closed().status == 0);
    CHECK(held_seats(node) == 0);
  }
  // The same hold sent plainly is held: the count above would have seen it.
  http_client plain("127.0.0.1", node.port());
  CHECK(plain.read_or_closed_after(hold_request()).status == 201);
  CHECK(held_seats(node) == 1);
}

TEST_CASE("http: chunked bodies are still read as one request", "[integration]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  auto setup = node.client();
  create_concert(setup);
  const std::string body = R"({"customer_id":"c1","seats":["A-1-2"]})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  http_client c("127.0.0.1", node.port());
  const auto r = c.read_or_closed_after(
      "POST /v1/events/ev1/holds HTTP/1.1\r\nHost: x\r\nAuthorization: bearer " + gateway +
      "\r\nTransfer-Encoding: Chunked\r\n\r\n" + size + "\r\n" + body + "\r\n0\r\n\r\n");
  CHECK(r.status == 201);
  CHECK(held_seats(node) == 1);
}

namespace {

// The value of one labelled series in a Prometheus text body; -1 when absent.
double series_in(const std::string& body, const std::string& series) {
  const auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + series.size() + 2));
}

std::size_t lines_with(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("http: idle connections at --connections-max neither reach the admin listener nor stay",
          "[integration]") {
  const std::uint16_t admin_port = free_port();
  seatd_process node({"--connections-max", "50", "--idle-timeout-ms", "2000", "--admin-listen",
                      "127.0.0.1:" + std::to_string(admin_port)});
  REQUIRE(node.wait_ready());
  std::vector<std::unique_ptr<http_client>> idle;
  for (int i = 0; i < 50; ++i)
    idle.push_back(std::make_unique<http_client>("127.0.0.1", node.port()));
  // The gateway's port is full: a new connection is refused.
  REQUIRE(eventually(
      [&] {
        http_client extra("127.0.0.1", node.port());
        return extra.read_or_closed_after("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 503;
      },
      std::chrono::seconds(5)));

  // The probes, on a listener of their own, answer at once.
  const auto asked = std::chrono::steady_clock::now();
  http_client probe("127.0.0.1", admin_port);
  CHECK(probe.request("GET", "/healthz").status == 200);
  CHECK(probe.request("GET", "/readyz").status == 200);
  CHECK(std::chrono::steady_clock::now() - asked < std::chrono::seconds(2));
  // The admin listener serves the operations endpoints only.
  CHECK(probe.request("GET", "/v1/events/ev1", "", gateway).status == 404);
  CHECK(probe.request("GET", "/v1/cluster", "", admin).status == 404);

  // Past --idle-timeout-ms the idle connections are closed, and the gateway serves again.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  int closed = 0;
  for (auto& c : idle)
    if (c->read_or_closed().status == 0) ++closed;
  CHECK(closed == 50);
  http_client fresh("127.0.0.1", node.port());
  CHECK(fresh.request("GET", "/healthz").status == 200);

  // Refusals are counted by reason, and logged once per reason per window with a count.
  const auto metrics = probe.request("GET", "/metrics").body;
  CHECK(series_in(metrics, R"(seatd_http_refusals_total{listener="api",reason="idle_timeout"})") >=
        50);
  CHECK(series_in(metrics,
                  R"(seatd_http_refusals_total{listener="api",reason="connections_max"})") >= 1);
  CHECK(series_in(metrics, R"(seatd_http_refusals_total{listener="admin",reason="malformed"})") ==
        0);
  const std::string log = node.log();
  INFO(log);
  CHECK(lines_with(log, "listener=api reason=idle_timeout count=") == 1);
}

TEST_CASE("http: a keep-alive connection idle past --idle-timeout-ms is closed", "[integration]") {
  seatd_process node({"--idle-timeout-ms", "1000", "--request-timeout-ms", "15000"});
  REQUIRE(node.wait_ready());
  http_client c("127.0.0.1", node.port());
  CHECK(c.read_or_closed_after("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(c.read_or_closed().status == 0);
}
