#pragma once
// The gateway API's routes (docs/API.md): authentication and roles, request
// ids, path validation, and the hand-off of each request to its event's actor through the
// node. Answers are rendered on the actor from the machine's state and sent once that
// state is durable.

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
  using forward_fn = std::function<void(
      cluster::raft::node_id leader, const common::http_request& request, common::responder respond,
      std::function<void(const std::string& why)> failed)>;
  void set_forwarding(forward_fn forward) { forward_ = std::move(forward); }
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

 private:
  void serve(common::http_request request, common::responder respond, bool operations_only);

  router_config config_;
  cluster::node& node_;
  common::metrics_registry& metrics_;
  std::unique_ptr<series_table> series_;
  forward_fn forward_;
  std::function<cluster_view()> cluster_view_;
};

}  // namespace seatd::api
