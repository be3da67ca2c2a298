#pragma once
// A three-node seatd cluster on loopback for process tests (cluster_test.cpp, the stream's
// end-to-end tests): nodes n1..n3, each with its own data dir, the same --peers and cluster
// secret.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace seatd::test {

inline const std::map<std::string, std::string> secret{
    {"SEATD_CLUSTER_SECRET", "cluster-test-secret"}};

// Three nodes n1..n3 with peer ports chosen now; each started with the same --peers. A port
// picked free can be taken by another test running in parallel before seatd binds it (seatd
// then exits at start): the cluster is started again on new ports, three times at most.
struct three_node_cluster {
  explicit three_node_cluster(const std::vector<std::string>& extra_args = {}) {
    for (int attempt = 1; attempt <= 3; ++attempt) {
      nodes.clear();
      std::string peers;
      for (int i = 1; i <= 3; ++i)
        peers += (i > 1 ? "," : "") + ("n" + std::to_string(i)) +
                 "=127.0.0.1:" + std::to_string(free_port());
      for (int i = 1; i <= 3; ++i) {
        std::vector<std::string> args{"--node-id", "n" + std::to_string(i), "--peers",
                                      peers,       "--log-level",           "info"};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        // Leaders stay where elections put them unless a test asks for balancing: a move
        // makes the shard's requests answer 503 for a moment.
        if (std::find(args.begin(), args.end(), "--leader-balance-s") == args.end())
          args.insert(args.end(), {"--leader-balance-s", "0"});
        nodes.push_back(std::make_unique<seatd_process>(std::move(args), secret));
      }
      bool ready = true;
      bool exited = false;
      for (auto& n : nodes) {
        if (n->wait_ready()) continue;
        ready = false;
        if (!n->running()) {
          exited = true;
          WARN("a node exited at start (attempt " << attempt << "): " << n->log());
        }
      }
      if (ready) return;
      REQUIRE(exited);  // running but never ready: a real failure, not a port race
    }
    FAIL("the cluster did not start in three attempts");
  }

  // SEATD_KEEP_LOGS=DIR keeps every node's log (DIR/n1.log ...) for a look after the test.
  ~three_node_cluster() {
    const char* dir = std::getenv("SEATD_KEEP_LOGS");
    if (dir == nullptr) return;
    for (std::size_t i = 0; i < nodes.size(); ++i)
      std::ofstream(std::string(dir) + "/n" + std::to_string(i + 1) + ".log") << nodes[i]->log();
  }
  three_node_cluster(const three_node_cluster&) = delete;
  three_node_cluster& operator=(const three_node_cluster&) = delete;

  // Creates event ev1 (API.md's concert) through whichever node answers.
  void create_event() {
    http_reply created;
    REQUIRE(serving("PUT", "/v1/events/ev1", concert_json(), admin_token, created) >= 0);
    REQUIRE(created.status == 201);
  }

  // The index of the node that answers `target` with something other than 503, trying every
  // running node until `limit`; -1 if none did.
  int serving(const std::string& method, const std::string& target, const std::string& body,
              const std::string& token, http_reply& reply,
              std::chrono::milliseconds limit = std::chrono::seconds(15),
              const std::map<std::string, std::string>& headers = {}) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (!nodes[i]->running()) continue;
        try {
          auto c = nodes[i]->client();
          reply = c.request(method, target, body, token, headers);
          if (reply.status != 503) return static_cast<int>(i);
        } catch (const std::exception&) {
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

  // The name of the node leading the event's shard, as the first running node reports it
  // (waiting up to 5 s for one to be known); empty if none.
  std::string leader_of(const std::string& event) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      for (auto& node : nodes) {
        if (!node->running()) continue;
        try {
          auto c = node->client();
          const auto got = c.request("GET", "/v1/cluster?event=" + event, "", admin_token);
          const auto view = nlohmann::json::parse(got.body);
          if (got.status == 200 && view.contains("event") && !view["event"]["leader"].is_null())
            return view["event"]["leader"];
        } catch (const std::exception&) {
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return {};
  }

  std::vector<std::unique_ptr<seatd_process>> nodes;
};

}  // namespace seatd::test
