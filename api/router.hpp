#pragma once
// The gateway API's routes (docs/API.md): authentication and roles, request
// ids, path validation, and the hand-off of each request to its event's actor through the
// node. Answers are rendered on the actor from the machine's state and sent once that
// state is durable.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "api/json_codec.hpp"
#include "cluster/node.hpp"
#include "common/http_server.hpp"
#include "common/metrics.hpp"

namespace seatd::api {

enum class role { gateway, admin };

struct auth_config {
  std::unordered_map<std::string, role> tokens;  // bearer token -> role
  bool insecure_no_auth = false;                 // every request is admin (development only)
};

struct router_config {
  auth_config auth;
  std::string node_id = "n1";
  // Every hold and reservation request must name the customer it acts for (X-Customer-Id
  // or a body customer_id), for gateways that want each call bound to a customer.
  bool require_customer_id = false;
};

class router {
 public:
  router(router_config config, cluster::node& node, common::metrics_registry& metrics);
  ~router();
  router(const router&) = delete;
  router& operator=(const router&) = delete;

  void handle(common::http_request request, common::responder respond);
  // Replicated: requests for an event whose shard another node leads go to that node through
  // `forward` (api/forwarder.hpp): `respond` gets the leader's answer, or `failed` says why
  // none came (answered 503 here). Set before serving.
  // `failed` says whether the request may have reached the leader (sent): when it may not,
  // nothing changed. `after` runs a function later (on a serving thread).
  //
  // A request this node cannot serve because it does not lead the event's shard, or whose
  // proposal was refused and changed nothing (a leadership change under way), is not
  // answered 503 at once: it goes to the leader as soon as one is known (or is served here,
  // if this node leads again), for up to 2 s; a leader that refuses it the same way marks
  // its answer with refused_header, and it is sent on again.
  using forward_fn = std::function<void(
      cluster::raft::node_id leader, const common::http_request& request, common::responder respond,
      std::function<void(const std::string& why, bool sent)> failed)>;
  using after_fn = std::function<void(std::chrono::milliseconds delay, std::function<void()> run)>;
  void set_forwarding(forward_fn forward, after_fn after);
  // On the answer of a forwarded request that this node refused without changing anything.
  static constexpr std::string_view refused_header = "X-Seatd-Refused";
  // Replicated: what GET /v1/cluster shows (nodes and shards as this node knows them); the
  // router adds the event count and ?event=ID.
  void set_cluster_view(std::function<cluster_view()> view) { cluster_view_ = std::move(view); }
  // The operations endpoints only (/healthz, /readyz, /metrics), for --admin-listen: every
  // other request is 404 not_found, so that the admin port never serves the gateway API.
  void handle_operations(common::http_request request, common::responder respond);

  // Defined in router.cpp: one request on its way through the route table, and the metric
  // series of each (route, status), resolved once.
  struct call;
  class series_table;
  struct leader_links;

 private:
  void serve(common::http_request request, common::responder respond, bool operations_only);

  router_config config_;
  cluster::node& node_;
  common::metrics_registry& metrics_;
  std::unique_ptr<series_table> series_;
  forward_fn forward_;
  after_fn after_;
  std::function<cluster_view()> cluster_view_;
  std::unique_ptr<leader_links> links_;  // replicated: what sending on to a leader needs
};

}  // namespace seatd::api
