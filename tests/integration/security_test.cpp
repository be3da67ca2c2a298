// What an attack from outside found, as process tests against a real seatd: hold and
// reservation ids an attacker could predict, and one customer acting on another customer's
// hold or reservation. Each test failed on the code before the fix.

#include <bitset>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "harness.hpp"
#include "sales.hpp"

using namespace seatd::test;
using json = nlohmann::json;

namespace {

json hold_for(http_client& client, const std::string& event, const std::string& customer,
              const std::string& seat) {
  const auto r = client.request(
      "POST", "/v1/events/" + event + "/holds",
      R"({"customer_id": ")" + customer + R"(", "seats": [")" + seat + R"("]})", gateway_token);
  REQUIRE(r.status == 201);
  return json::parse(r.body);
}

// The secret part of an id: what follows its last '-'.
std::string secret_of(const std::string& id) {
  return id.substr(id.rfind('-') + 1);
}

std::map<std::string, std::string> as(const std::string& customer) {
  return {{"X-Customer-Id", customer}};
}

}  // namespace

TEST_CASE("security: hold and reservation ids carry 96 random bits, unrelated across events",
          "[integration][security]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  create_event(node, "mine", 5);
  create_event(node, "theirs", 5);
  auto client = node.client();
  std::set<std::string> secrets;
  std::vector<std::bitset<96>> bits;
  auto record = [&](const std::string& id) {
    const std::string secret = secret_of(id);
    REQUIRE(secret.size() == 24);  // 96 bits in hex
    REQUIRE(secrets.insert(secret).second);
    std::bitset<96> b;
    for (std::size_t i = 0; i < 24; ++i) {
      const auto nibble = std::stoul(secret.substr(i, 1), nullptr, 16);
      for (std::size_t k = 0; k < 4; ++k)
        b[i * 4 + k] = ((nibble >> k) & 1) != 0;
    }
    bits.push_back(b);
  };
  // An attacker's own holds on one event, interleaved with another customer's holds and
  // reservations on another: the ids must tell nothing about each other.
  for (int i = 0; i < 40; ++i) {
    const std::string seat = "1-" + std::to_string(i / 20 + 1) + "-" + std::to_string(i % 20 + 1);
    record(hold_for(client, "mine", "attacker", seat).at("hold_id").get<std::string>());
    const std::string theirs = hold_for(client, "theirs", "victim", seat).at("hold_id");
    record(theirs);
    const auto confirmed = client.request("POST", "/v1/events/theirs/holds/" + theirs + "/confirm",
                                          R"({"payment_ref": "p"})", gateway_token);
    REQUIRE(confirmed.status == 201);
    record(json::parse(confirmed.body).at("reservation_id").get<std::string>());
  }
  // Every bit position is set in some ids and clear in others, about half each: a smoke
  // test that no part of the secret is constant or counted.
  for (std::size_t k = 0; k < 96; ++k) {
    std::size_t set = 0;
    for (const auto& b : bits)
      set += b[k] ? 1u : 0u;
    INFO("bit " << k << " set in " << set << " of " << bits.size() << " ids");
    CHECK(set > bits.size() / 5);
    CHECK(set < bits.size() * 4 / 5);
  }
}

TEST_CASE("security: a customer named by X-Customer-Id or customer_id cannot touch another's hold",
          "[integration][security]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  create_event(node, "ev", 2);
  auto client = node.client();
  const std::string hold_id = hold_for(client, "ev", "alice", "1-1-1").at("hold_id");
  const std::string hold_path = "/v1/events/ev/holds/" + hold_id;

  // Mallory, naming herself, finds nothing and changes nothing.
  auto get = client.request("GET", hold_path, "", gateway_token, as("mallory"));
  CHECK(get.status == 404);
  CHECK(json::parse(get.body)["error"] == "hold_not_found");
  CHECK(client.request("DELETE", hold_path, "", gateway_token, as("mallory")).status == 404);
  CHECK(client
            .request("POST", hold_path + "/extend", R"({"ttl_s": 60, "customer_id": "mallory"})",
                     gateway_token)
            .status == 404);
  CHECK(client
            .request("POST", hold_path + "/confirm", R"({"payment_ref": "p"})", gateway_token,
                     as("mallory"))
            .status == 404);
  get = client.request("GET", hold_path, "", gateway_token, as("alice"));
  REQUIRE(get.status == 200);
  CHECK(json::parse(get.body)["status"] == "active");

  // A body and a header that disagree are refused; a malformed actor is a 400.
  auto refused =
      client.request("POST", hold_path + "/extend", R"({"ttl_s": 60, "customer_id": "alice"})",
                     gateway_token, as("mallory"));
  CHECK(refused.status == 400);
  CHECK(json::parse(refused.body)["message"].get<std::string>().find("X-Customer-Id") !=
        std::string::npos);
  CHECK(client.request("DELETE", hold_path, "", gateway_token, as("bad actor!")).status == 400);

  // Alice confirms; Mallory can neither read nor cancel the reservation.
  const auto confirmed =
      client.request("POST", hold_path + "/confirm",
                     R"({"payment_ref": "p", "customer_id": "alice"})", gateway_token);
  REQUIRE(confirmed.status == 201);
  const std::string reservation_path =
      "/v1/events/ev/reservations/" +
      json::parse(confirmed.body)["reservation_id"].get<std::string>();
  CHECK(client.request("GET", reservation_path, "", gateway_token, as("mallory")).status == 404);
  CHECK(client
            .request("POST", reservation_path + "/cancel", R"({"customer_id": "mallory"})",
                     gateway_token)
            .status == 404);
  const auto still = client.request("GET", reservation_path, "", gateway_token, as("alice"));
  REQUIRE(still.status == 200);
  CHECK(json::parse(still.body)["status"] == "confirmed");
  CHECK(
      client.request("POST", reservation_path + "/cancel", "", gateway_token, as("alice")).status ==
      200);
}

TEST_CASE("security: with --require-customer-id every hold and reservation call names its customer",
          "[integration][security]") {
  seatd_process node({"--require-customer-id"});
  REQUIRE(node.wait_ready());
  create_event(node, "ev", 2);
  auto client = node.client();
  const std::string hold_id = hold_for(client, "ev", "alice", "1-1-1").at("hold_id");
  const std::string hold_path = "/v1/events/ev/holds/" + hold_id;
  const auto anonymous = client.request("GET", hold_path, "", gateway_token);
  CHECK(anonymous.status == 400);
  CHECK(json::parse(anonymous.body)["message"].get<std::string>().find("requires") !=
        std::string::npos);
  CHECK(client.request("DELETE", hold_path, "", gateway_token).status == 400);
  CHECK(client.request("GET", hold_path, "", gateway_token, as("alice")).status == 200);
  CHECK(client.request("DELETE", hold_path, "", gateway_token, as("alice")).status == 200);
}

TEST_CASE("security: an idempotency key replayed for another customer is a reuse, not a replay",
          "[integration][security]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  create_event(node, "ev", 2);
  auto client = node.client();
  const std::string hold_id = hold_for(client, "ev", "alice", "1-1-1").at("hold_id");
  const std::string confirm = "/v1/events/ev/holds/" + hold_id + "/confirm";
  const std::string body = R"({"payment_ref": "p", "idempotency_key": "k1"})";
  REQUIRE(client.request("POST", confirm, body, gateway_token, as("alice")).status == 201);
  CHECK(client.request("POST", confirm, body, gateway_token, as("alice")).status == 201);
  const auto stolen = client.request("POST", confirm, body, gateway_token, as("mallory"));
  CHECK(stolen.status == 409);
  CHECK(json::parse(stolen.body)["error"] == "idempotency_key_reused");
}

TEST_CASE("security: a released hold is forgotten after --hold-retention-s", "[integration]") {
  seatd_process node({"--hold-retention-s", "1"});
  REQUIRE(node.wait_ready());
  create_event(node, "ev", 5);
  auto client = node.client();
  const std::string hold_id = hold_for(client, "ev", "alice", "1-1-1").at("hold_id");
  const std::string hold_path = "/v1/events/ev/holds/" + hold_id;
  REQUIRE(client.request("DELETE", hold_path, "", gateway_token).status == 200);
  CHECK(client.request("GET", hold_path, "", gateway_token).status == 200);
  // Forgetting happens when a later command's stamp passes the retention.
  int next_seat = 0;
  REQUIRE(eventually([&] {
    ++next_seat;
    hold_for(client, "ev", "bob",
             "1-" + std::to_string(2 + next_seat / 20) + "-" + std::to_string(1 + next_seat % 20));
    return client.request("GET", hold_path, "", gateway_token).status == 404;
  }));
  const auto gone = client.request("GET", hold_path, "", gateway_token);
  CHECK(json::parse(gone.body)["message"].get<std::string>().find("kept 1 s") != std::string::npos);
}
