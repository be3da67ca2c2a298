// Process tests of the HTTP layer against a black-box attacker (issue 9): request smuggling,
// connection floods, header tricks, bodies with trailing bytes and clients that never read.
// Each test starts a real seatd on loopback and speaks raw bytes to it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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
  // Trailer fields would pass for headers nobody checked (a second Host, another token):
  // refused, the connection closed, nothing held.
  const std::string other = R"({"customer_id":"c1","seats":["A-1-3"]})";
  std::snprintf(size, sizeof size, "%zx", other.size());
  http_client t("127.0.0.1", node.port());
  auto trailed = t.read_or_closed_after(
      "POST /v1/events/ev1/holds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + gateway +
      "\r\nTransfer-Encoding: chunked\r\n\r\n" + size + "\r\n" + other +
      "\r\n0\r\nHost: y\r\nAuthorization: Bearer nobody\r\n\r\n");
  CHECK(trailed.status == 400);
  CHECK(trailed.headers.at("connection") == "close");
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
  // The gateway's port has no connection left over from wait_ready, as the admin port shows.
  http_client probe("127.0.0.1", admin_port);
  REQUIRE(eventually([&] {
    return metric_in(probe.request("GET", "/metrics").body, "seatd_http_connections") == 0.0;
  }));
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
  probe.reconnect();
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

namespace {

// Sends bytes on a new connection and returns everything the server sends until it closes
// (or 10 s pass): for answers the harness's client would misread, such as those to HEAD.
std::string exchange(std::uint16_t port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bytes.size()));
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string received;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
    received.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return received;
}

std::string get_healthz(const std::string& method, const std::string& connection) {
  return method + " /healthz HTTP/1.1\r\nHost: x\r\nConnection: " + connection + "\r\n\r\n";
}

}  // namespace

TEST_CASE("http: Host exactly once and Authorization at most once, or 400 and close",
          "[integration]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  auto setup = node.client();
  create_concert(setup);
  const std::string get = "GET /v1/events/ev1 HTTP/1.1\r\n";
  const std::string token = "Authorization: Bearer " + gateway + "\r\n";
  for (const std::string& head :
       {get + token + "\r\n", get + "Host: a\r\nHost: b\r\n" + token + "\r\n",
        get + "Host: a\r\nAuthorization: Bearer wrong\r\n" + token + "\r\n",
        get + "Host: a\r\n" + token + "Authorization: Bearer wrong\r\n\r\n"}) {
    INFO(head);
    http_client c("127.0.0.1", node.port());
    auto r = c.read_or_closed_after(head);
    CHECK(r.status == 400);
    CHECK(r.headers["connection"] == "close");
  }
}

TEST_CASE("http: the bearer scheme matches in any case, and only whole tokens pass",
          "[integration]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  auto c = node.client();
  create_concert(c);
  for (const std::string scheme : {"Bearer", "bearer", "BEARER", "bEaReR"})
    CHECK(c.request("GET", "/v1/events/ev1", "", "", {{"Authorization", scheme + " " + gateway}})
              .status == 200);
  for (const std::string& wrong : {gateway.substr(0, gateway.size() - 1), gateway + "x",
                                   std::string(gateway.size(), 'x'), std::string("Bearer")})
    CHECK(
        c.request("GET", "/v1/events/ev1", "", "", {{"Authorization", "Bearer " + wrong}}).status ==
        401);
  CHECK(
      c.request("GET", "/v1/events/ev1", "", "", {{"Authorization", "Basic " + gateway}}).status ==
      401);
}

TEST_CASE("http: HEAD is answered as GET, without a body", "[integration]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  // Pipelined HEAD then GET: the HEAD answer must end at its blank line, or the client reads
  // its body as the start of the GET answer.
  const std::string both =
      exchange(node.port(), get_healthz("HEAD", "keep-alive") + get_healthz("GET", "close"));
  INFO(both);
  REQUIRE(both.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  const auto end_of_head = both.find("\r\n\r\n");
  REQUIRE(end_of_head != std::string::npos);
  CHECK(both.find("Content-Length: 15\r\n") < end_of_head);  // GET's {"status":"ok"}
  CHECK(both.compare(end_of_head + 4, 17, "HTTP/1.1 200 OK\r\n") == 0);
  CHECK(both.substr(both.size() - 15) == R"({"status":"ok"})");

  auto c = node.client();
  create_concert(c);
  const std::string head_event =
      "HEAD /v1/events/ev1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + gateway +
      "\r\nConnection: close\r\n\r\n";
  const std::string event = exchange(node.port(), head_event);
  CHECK(event.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(event.size() == event.find("\r\n\r\n") + 4);
  // A 405 to HEAD has no body either.
  const std::string head_holds =
      "HEAD /v1/events/ev1/holds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + gateway +
      "\r\nConnection: close\r\n\r\n";
  const std::string refused = exchange(node.port(), head_holds);
  CHECK(refused.rfind("HTTP/1.1 405", 0) == 0);
  CHECK(refused.size() == refused.find("\r\n\r\n") + 4);
}

TEST_CASE("http: 405 names the path's methods in an Allow header", "[integration]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  auto c = node.client();
  auto event = c.request("DELETE", "/v1/events/ev1", "", admin);
  CHECK(event.status == 405);
  CHECK(event.headers["allow"] == "GET, HEAD, PUT");
  auto holds = c.request("GET", "/v1/events/ev1/holds", "", gateway);
  CHECK(holds.status == 405);
  CHECK(holds.headers["allow"] == "POST");
  auto hold = c.request("PUT", "/v1/events/ev1/holds/h1", "", gateway);
  CHECK(hold.status == 405);
  CHECK(hold.headers["allow"] == "GET, HEAD, DELETE");
}

TEST_CASE("http: any byte after the JSON document but whitespace is 400, a NUL included",
          "[integration]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  auto c = node.client();
  create_concert(c);
  const std::string hold = R"({"customer_id":"c1","seats":["A-1-1"]})";
  for (const std::string& tail : {std::string("\0", 1), std::string("\0{\"x\":1}", 8),
                                  std::string(" \0", 2), std::string(" x")}) {
    auto r = c.request("POST", "/v1/events/ev1/holds", hold + tail, gateway);
    CHECK(r.status == 400);
    CHECK(json::parse(r.body)["error"] == "invalid_request");
  }
  CHECK(held_seats(node) == 0);
  CHECK(c.request("POST", "/v1/events/ev1/holds", hold + " \r\n\t", gateway).status == 201);
}

TEST_CASE("http: a client that never reads its answers is cut off, and nothing piles up",
          "[integration]") {
  seatd_process node({"--request-timeout-ms", "1000"});
  REQUIRE(node.wait_ready());
  // Thousands of pipelined /metrics requests (tens of MB of answers) and no read: the
  // server answers one request at a time, so it stops reading once the socket is full,
  // and closes the connection when an answer waits past --request-timeout-ms.
  http_client flood("127.0.0.1", node.port());
  std::string requests;
  for (int i = 0; i < 3000; ++i)
    requests += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  flood.raw_send(requests);
  auto probe = node.client();
  CHECK(eventually(
      [&] {
        const auto body = probe.request("GET", "/metrics").body;
        return series_in(body,
                         R"(seatd_http_refusals_total{listener="api",reason="write_timeout"})") >=
               1;
      },
      std::chrono::seconds(20)));
  CHECK(probe.request("GET", "/healthz").status == 200);
  const auto open = metric_in(probe.request("GET", "/metrics").body, "seatd_http_connections");
  CHECK(open.value_or(99) <= 2);
}
