#include "api/router.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

#include "api/json_codec.hpp"
#include "common/checksum.hpp"
#include "common/http_checks.hpp"
#include "common/identifier.hpp"

namespace seatd::api {
namespace {

using actors::event_machine;
using actors::event_request;
using common::http_answer;
using common::http_request;
using common::responder;
using finish = event_request::finish;
using clock_type = std::chrono::steady_clock;

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return parts;
}

// The value of `name` in a query string, if present (no percent-decoding: ids never need it).
std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return std::string(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string new_request_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(random()));
  return buffer;
}

bool usable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (c < 0x21 || c > 0x7E) return false;
  return true;
}

http_answer answer_of(const response& r) {
  return {r.status, r.body, "application/json", {}};
}

}  // namespace

// ---- metrics ------------------------------------------------------------------------------

// The counter and histogram of each (route, status), looked up without a lock: answers are
// counted on the group-commit writer's thread, which must not queue on the registry's mutex.
// A series is registered on its first answer, not at construction, so that /metrics lists
// only the (route, status) pairs that have happened (as it always has) instead of some 250
// zero series; each pair takes the registry's lock once.
class router::series_table {
 public:
  // route_names[i]: the route label of route index i.
  series_table(common::metrics_registry& registry, std::vector<std::string_view> route_names)
      : registry_(registry),
        routes_(std::move(route_names)),
        slots_(std::make_unique<slot[]>(routes_.size() * statuses.size())) {}

  void record(std::size_t route, unsigned status, double seconds) {
    const auto known = std::find(statuses.begin(), statuses.end(), status);
    if (known == statuses.end()) {  // a status the router does not answer today
      const std::string labels = labels_of(route, status);
      requests(labels).add();
      latency(labels).observe(seconds);
      return;
    }
    slot& s = slots_[route * statuses.size() + static_cast<std::size_t>(known - statuses.begin())];
    common::counter* answers = s.requests.load(std::memory_order_acquire);
    common::histogram* timings = s.latency.load(std::memory_order_acquire);
    if (answers == nullptr || timings == nullptr) {
      // Threads that race here get the same series from the registry and store the same.
      const std::string labels = labels_of(route, status);
      answers = &requests(labels);
      timings = &latency(labels);
      s.requests.store(answers, std::memory_order_release);
      s.latency.store(timings, std::memory_order_release);
    }
    answers->add();
    timings->observe(seconds);
  }

 private:
  // Every status the router answers (API.md's table, 405, 415 and 500).
  static constexpr std::array<unsigned, 15> statuses{200, 201, 400, 401, 403, 404, 405, 409,
                                                     410, 413, 415, 422, 429, 500, 503};
  struct slot {
    std::atomic<common::counter*> requests{nullptr};
    std::atomic<common::histogram*> latency{nullptr};
  };

  std::string labels_of(std::size_t route, unsigned status) const {
    return "route=\"" + std::string(routes_[route]) + "\",status=\"" + std::to_string(status) +
           "\"";
  }
  common::counter& requests(const std::string& labels) {
    return registry_.counter_for("seatd_http_requests_total", "HTTP requests by route and status",
                                 labels);
  }
  common::histogram& latency(const std::string& labels) {
    return registry_.histogram_for("seatd_http_request_seconds",
                                   "HTTP request latency by route and status", labels);
  }

  common::metrics_registry& registry_;
  std::vector<std::string_view> routes_;
  std::unique_ptr<slot[]> slots_;  // [route][status]
};

namespace {

// Where a request's answer goes, from any thread: it adds the request id and Retry-After,
// counts the answer under its route and status, and sends it. Copied into the closures that
// answer from an actor.
class reply_to {
 public:
  // What a refusal that changed nothing (this node does not lead the event's shard) does
  // instead of answering 503: send the request to the leader once one is known.
  using elsewhere_fn = std::function<void(const reply_to&)>;

  reply_to(router::series_table& series, std::size_t route, std::string request_id,
           responder respond)
      : series_(&series),
        route_(route),
        started_(clock_type::now()),
        request_id_(std::move(request_id)),
        respond_(std::move(respond)) {}

  void set_route(std::size_t route) { route_ = route; }
  void set_elsewhere(elsewhere_fn to) { elsewhere_ = std::make_shared<const elsewhere_fn>(to); }
  // A request another node forwarded here: its refusals say so (router::refused_header), so
  // that the other node sends it on to the leader.
  void mark_refusals() { mark_refusals_ = true; }

  // This node does not lead the event's shard and changed nothing: the request goes to the
  // leader (set_elsewhere), or the answer is 503 `message`.
  void not_leader(std::string_view message) const {
    if (elsewhere_) return (*elsewhere_)(*this);
    http_answer a = answer_of(error_response(503, "unavailable", message));
    if (mark_refusals_) a.headers.emplace_back(router::refused_header, "not-leader");
    (*this)(std::move(a));
  }

  void operator()(http_answer a) const {
    a.headers.emplace_back("X-Request-Id", request_id_);
    if (a.status == 429 || a.status == 503) a.headers.emplace_back("Retry-After", "1");
    series_->record(route_, a.status,
                    std::chrono::duration<double>(clock_type::now() - started_).count());
    respond_(std::move(a));
  }
  void operator()(const response& r) const { (*this)(answer_of(r)); }
  void error(unsigned status, std::string_view code, std::string_view message) const {
    (*this)(error_response(status, code, message));
  }

 private:
  router::series_table* series_;
  std::size_t route_;
  clock_type::time_point started_;
  std::string request_id_;
  responder respond_;
  std::shared_ptr<const elsewhere_fn> elsewhere_;
  bool mark_refusals_ = false;
};

// What to do once the state an answer shows is committed: send it. When the log says it may
// not be (leadership lost, a failed write), the outcome is unknown: 503, retry with the
// same idempotency key.
finish finish_with(const response& r, const reply_to& reply) {
  return [a = answer_of(r), reply](actors::log_status status) {
    if (status == actors::log_status::committed) return reply(a);
    // Refused before it reached the log, or its entry can never commit: nothing changed
    // (the owners' state is rebuilt).
    if (status == actors::log_status::not_leader)
      return reply.not_leader("the event's shard is changing leader; nothing was changed: retry");
    reply.error(503, "unavailable",
                "the outcome is unknown (" + std::string(actors::log_status_name(status)) +
                    "); retry with the same idempotency key");
  };
}

}  // namespace

// One request on its way through the route table: what the handlers read, and its answer.
struct router::call {
  const http_request& request;
  std::vector<std::string_view> parts;  // the path's segments, into request.target
  std::string_view path;
  std::string_view query;
  cluster::node& node;
  const router_config& config;
  common::metrics_registry& metrics;
  reply_to reply;
  const std::function<cluster_view()>& replicated_view;  // empty on a single node

  std::string event_id() const { return std::string(parts[2]); }
  std::string item_id() const { return std::string(parts[4]); }  // a hold's or reservation's
  // Idempotency keys are bound to the whole request (API.md, "Idempotency"), including the
  // customer it acts for: another customer's retry with the same key and body is a reuse.
  std::uint64_t fingerprint() const {
    std::string text = request.method + " " + std::string(path) + "\n" + request.body;
    if (!request.customer_id.empty()) text += "\nX-Customer-Id: " + request.customer_id;
    return common::fnv1a64(text);
  }
  // The customer the request acts for, from the body (`from_body`, possibly empty) and the
  // X-Customer-Id header, which must agree; with require_customer_id one of them must be
  // given. Sets `acting` and returns true, or answers 400 and returns false.
  bool resolve_actor(const std::string& from_body, std::string& acting) const;
  // The idempotency key from the body (`key`, possibly empty) and the Idempotency-Key
  // header, which must agree. Leaves the key to use in `key` and returns true, or answers
  // 400 and returns false.
  bool resolve_key(std::string& key) const;
  bool agree(std::string_view field, std::string_view header, const std::string& from_body,
             const std::string& from_header, std::string& out) const;
};

// A value the body and a header may both give: they must agree (400 naming both otherwise);
// `out` (which may be `from_body` itself) gets whichever was given.
bool router::call::agree(std::string_view field, std::string_view header,
                         const std::string& from_body, const std::string& from_header,
                         std::string& out) const {
  if (!from_body.empty() && !from_header.empty() && from_body != from_header) {
    reply.error(400, "invalid_request",
                std::string(field) + ": the body says \"" + from_body + "\" but " +
                    std::string(header) + " says \"" + from_header + "\"");
    return false;
  }
  out = from_body.empty() ? from_header : from_body;
  return true;
}

bool router::call::resolve_key(std::string& key) const {
  return agree("idempotency_key", "Idempotency-Key", key, request.idempotency_key, key);
}

bool router::call::resolve_actor(const std::string& from_body, std::string& acting) const {
  if (!agree("customer_id", "X-Customer-Id", from_body, request.customer_id, acting)) return false;
  if (acting.empty() && config.require_customer_id) {
    reply.error(400, "invalid_request",
                "customer_id: this node requires the acting customer (X-Customer-Id header or "
                "a customer_id field)");
    return false;
  }
  return true;
}

namespace {

using call = router::call;

// A request on its way through the route table: its path's segments and query, and what
// the handlers need.
call call_of(const http_request& request, cluster::node& node, const router_config& config,
             common::metrics_registry& metrics, reply_to reply,
             const std::function<cluster_view()>& view) {
  const std::string_view target = request.target;
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  return call{request,
              split_path(path),
              path,
              question == std::string_view::npos ? std::string_view{} : target.substr(question + 1),
              node,
              config,
              metrics,
              std::move(reply),
              view};
}
using reply_fn = std::function<response(const actors::command_reply&)>;

// ---- handing a request to its event ---------------------------------------------------------

// 429 (API.md: overloaded, with Retry-After), one message per cause: the event's mailbox is
// full (dispatch_status::overloaded), or the log's queue is (dispatch_status::log_full, or the
// actor finding no room for a mutation, event_request::overloaded).
void event_busy(const reply_to& reply) {
  reply.error(429, "overloaded", "the event is busy; retry shortly");
}
void node_busy(const reply_to& reply) {
  reply.error(429, "overloaded", "the node is busy; retry shortly");
}
// 503 (API.md: no leader for the event's shard here, with Retry-After).
void not_leader(const reply_to& reply) {
  reply.not_leader("this node does not lead the event's shard; retry (another node may)");
}

void dispatch(call& c, std::shared_ptr<event_request> request) {
  switch (c.node.dispatch(c.parts[2], std::move(request))) {
    case cluster::dispatch_status::sent:
      return;
    case cluster::dispatch_status::not_found:
      return c.reply.error(404, "event_not_found", "no event \"" + c.event_id() + "\"");
    case cluster::dispatch_status::overloaded:
      return event_busy(c.reply);
    case cluster::dispatch_status::log_full:
      return node_busy(c.reply);
    case cluster::dispatch_status::unavailable:
      return not_leader(c.reply);
  }
}

// A read: rendered from the machine on its actor.
void read(call& c, std::function<response(const event_machine&)> render) {
  auto r = std::make_shared<event_request>();
  r->handle = [render = std::move(render), reply = c.reply](const event_machine& m,
                                                            const auto*) -> finish {
    return finish_with(render(m), reply);
  };
  dispatch(c, std::move(r));
}

// A mutation: the answer is rendered on the actor and sent once the change is durable.
void mutate(call& c, actors::command command, reply_fn ok) {
  auto r = std::make_shared<event_request>();
  r->mutation = std::move(command);
  r->handle = [ok = std::move(ok), reply = c.reply](
                  const event_machine& m,
                  const actors::result<actors::command_reply>* result) -> finish {
    const response out =
        result->ok() ? ok(result->value()) : failure_response(result->error(), m.layout());
    return finish_with(out, reply);
  };
  r->overloaded = [reply = c.reply] { node_busy(reply); };
  dispatch(c, std::move(r));
}

// An event's creation: answered once durable, or the existing event compared (200 or 409).
void create(call& c, actors::event_spec spec) {
  const actors::event_spec wanted = spec;
  auto created = c.node.create_event(
      c.event_id(), std::move(spec),
      [reply = c.reply, wanted](const event_machine& m, bool is_new) -> finish {
        response out{201, render_event_created(m)};
        if (!is_new)
          out = m.same_definition(wanted)
                    ? response{200, render_event_created(m)}
                    : error_response(409, "event_conflict",
                                     "the event exists with another definition");
        return finish_with(out, reply);
      });
  if (!created) {
    // Only a definition that does not validate fails here: no seat details to name.
    const actors::failure& f = created.error();
    return c.reply.error(http_status(f.code), actors::errc_name(f.code), f.message);
  }
  switch (created.value()) {
    case cluster::dispatch_status::sent:
      return;
    case cluster::dispatch_status::overloaded:  // it exists, and its mailbox is full
      return event_busy(c.reply);
    case cluster::dispatch_status::log_full:
      return node_busy(c.reply);
    case cluster::dispatch_status::not_found:  // the node is stopping
      return c.reply.error(503, "unavailable", "the node is stopping");
    case cluster::dispatch_status::unavailable:
      return not_leader(c.reply);
  }
}

// ---- the handlers -------------------------------------------------------------------------

void healthz(call& c) {
  c.reply(response{200, "{\"status\":\"ok\"}"});
}

void readyz(call& c) {
  if (c.node.ready()) return c.reply(response{200, "{\"status\":\"ready\"}"});
  c.reply.error(503, "unavailable", "recovering");
}

void metrics(call& c) {
  c.reply(http_answer{200, c.metrics.render(), "text/plain; version=0.0.4", {}});
}

// A single node is every shard's only replica and leader, at term 0; a replicated node shows
// what it knows of the others and of each shard's group.
void cluster_get(call& c) {
  const auto event = query_param(c.query, "event");
  if (event && !common::is_identifier(*event))
    return c.reply.error(400, "invalid_request", "event: must be 1 to 64 of [A-Za-z0-9._:-]");
  const std::string& self = c.config.node_id;
  cluster_view view;
  if (c.replicated_view) {
    view = c.replicated_view();
  } else {
    view.nodes.push_back({self, "up"});
    for (std::uint32_t s = 0; s < c.node.shard_count(); ++s)
      view.shards.push_back({s, {self}, self, 0, c.node.committed_index(s), {}});
  }
  view.node_id = self;
  for (auto& n : view.nodes)
    if (n.id == self && !c.node.ready()) n.state = "recovering";
  view.events = c.node.event_count();
  if (event) {
    const std::uint32_t shard = c.node.shard_of(*event);
    view.event = cluster_view::event_placement{*event, shard, view.shards.at(shard).leader};
  }
  c.reply(response{200, render_cluster(view)});
}

void event_get(call& c) {
  read(c, [](const event_machine& m) { return response{200, render_event(m)}; });
}

void event_put(call& c) {
  auto spec = parse_event_spec(c.request.body);
  if (!spec) return c.reply(spec.error());
  create(c, std::move(spec).value());
}

// The seat map, a page at a time: the query is checked before the event is looked up.
void seats(call& c) {
  auto query = parse_seat_query(c.query);
  if (!query) return c.reply(query.error());
  read(c, [query = std::move(query).value()](const event_machine& m) {
    return render_seats(m, query);
  });
}

void block_or_unblock(call& c, bool block) {
  auto command = parse_block(c.request.body, block);
  if (!command) return c.reply(command.error());
  if (!c.resolve_key(command.value().idempotency_key)) return;
  command.value().request_fingerprint = c.fingerprint();
  mutate(c, std::move(command).value(), [event_id = c.event_id()](const actors::command_reply& r) {
    return response{200, render_seat_states(event_id, std::get<std::vector<actors::seat_view>>(r))};
  });
}
void seats_block(call& c) {
  block_or_unblock(c, true);
}
void seats_unblock(call& c) {
  block_or_unblock(c, false);
}

void hold(call& c) {
  auto command = parse_hold(c.request.body);
  if (!command) return c.reply(command.error());
  // The hold's owner is its body's customer_id; a header naming someone else disagrees.
  std::string owner;
  if (!c.resolve_actor(command.value().customer_id, owner)) return;
  if (!c.resolve_key(command.value().idempotency_key)) return;
  command.value().request_fingerprint = c.fingerprint();
  mutate(c, std::move(command).value(), [event_id = c.event_id()](const actors::command_reply& r) {
    return response{201, render_hold(event_id, std::get<actors::hold_view>(r), false)};
  });
}

// A command on an existing hold or reservation: parsed, its acting customer resolved, then
// run; any refusal on the way is the answer.
template <class Command>
void act_on(call& c, parsed<Command> command, reply_fn ok) {
  if (!command) return c.reply(command.error());
  Command& run = command.value();
  if (!c.resolve_actor(run.acting_customer, run.acting_customer)) return;
  if (!c.resolve_key(run.idempotency_key)) return;
  run.request_fingerprint = c.fingerprint();
  mutate(c, std::move(run), std::move(ok));
}

// Release and extend answer the hold as it is after the change.
reply_fn hold_after(std::string event_id) {
  return [event_id = std::move(event_id)](const actors::command_reply& r) {
    return response{200, render_hold(event_id, std::get<actors::hold_view>(r), true)};
  };
}

void hold_get(call& c) {
  std::string acting;
  if (!c.resolve_actor({}, acting)) return;
  read(c, [event_id = c.event_id(), hold_id = c.item_id(), acting](const event_machine& m) {
    auto found = m.find_hold(hold_id, acting);
    if (!found) return failure_response(found.error(), m.layout());
    return response{200, render_hold(event_id, found.value(), true)};
  });
}

void hold_release(call& c) {
  act_on(c, parse_release(c.request.body, c.item_id()), hold_after(c.event_id()));
}

void hold_extend(call& c) {
  act_on(c, parse_extend(c.request.body, c.item_id()), hold_after(c.event_id()));
}

void hold_confirm(call& c) {
  auto command = parse_confirm(c.request.body, c.item_id());
  if (!command) return c.reply(command.error());
  auto& acting = command.value().acting_customer;
  if (!c.resolve_actor(acting, acting)) return;
  if (!c.resolve_key(command.value().idempotency_key)) return;
  // Back-pressure from the reservation stream (off unless --outbox-high-water is set).
  if (c.node.outbox_over_high_water())
    return c.reply.error(503, "unavailable",
                         "the reservation stream is behind (" +
                             std::to_string(c.node.outbox_depth()) +
                             " records wait for Kafka); retry shortly");
  command.value().request_fingerprint = c.fingerprint();
  mutate(c, std::move(command).value(), [event_id = c.event_id()](const actors::command_reply& r) {
    const auto& confirmed = std::get<actors::confirm_reply>(r);
    return response{confirmed.created ? 201u : 200u,
                    render_reservation(event_id, confirmed.reservation)};
  });
}

void reservation_get(call& c) {
  std::string acting;
  if (!c.resolve_actor({}, acting)) return;
  read(c, [event_id = c.event_id(), reservation_id = c.item_id(), acting](const event_machine& m) {
    auto r = m.find_reservation(reservation_id, acting);
    if (!r) return failure_response(r.error(), m.layout());
    return response{200, render_reservation(event_id, r.value())};
  });
}

void reservation_cancel(call& c) {
  act_on(c, parse_cancel(c.request.body, c.item_id()),
         [event_id = c.event_id()](const actors::command_reply& r) {
           return response{
               200, render_reservation(event_id, std::get<actors::cancel_reply>(r).reservation)};
         });
}

void wrong_method(call& c);

// ---- the route table ------------------------------------------------------------------------

// open: no token (the operations endpoints); gateway: any token; admin: an admin token.
enum class access { open, gateway, admin };

struct route {
  std::string_view method;   // "*": every method the path's rows above do not name (405)
  std::string_view pattern;  // "*" stands for one path segment (an id)
  std::string_view name;     // the route label of its metrics
  access needs;
  void (*run)(call&);
};

// The first row whose method and pattern match serves the request. A path outside /v1 has no
// "*" row: another method is no route (404), as for any unknown path.
constexpr std::array routes{
    route{"GET", "/healthz", "healthz", access::open, healthz},
    route{"GET", "/readyz", "readyz", access::open, readyz},
    route{"GET", "/metrics", "metrics", access::open, metrics},
    route{"GET", "/v1/cluster", "cluster", access::admin, cluster_get},
    route{"*", "/v1/cluster", "cluster", access::admin, wrong_method},
    route{"GET", "/v1/events/*", "event", access::gateway, event_get},
    route{"PUT", "/v1/events/*", "event_put", access::admin, event_put},
    route{"*", "/v1/events/*", "event", access::gateway, wrong_method},
    route{"GET", "/v1/events/*/seats", "seats", access::gateway, seats},
    route{"*", "/v1/events/*/seats", "seats", access::gateway, wrong_method},
    route{"POST", "/v1/events/*/seats/block", "seats_block", access::admin, seats_block},
    route{"*", "/v1/events/*/seats/block", "seats_block", access::admin, wrong_method},
    route{"POST", "/v1/events/*/seats/unblock", "seats_unblock", access::admin, seats_unblock},
    route{"*", "/v1/events/*/seats/unblock", "seats_unblock", access::admin, wrong_method},
    route{"POST", "/v1/events/*/holds", "hold", access::gateway, hold},
    route{"*", "/v1/events/*/holds", "hold", access::gateway, wrong_method},
    route{"GET", "/v1/events/*/holds/*", "hold_get", access::gateway, hold_get},
    route{"DELETE", "/v1/events/*/holds/*", "hold_release", access::gateway, hold_release},
    route{"*", "/v1/events/*/holds/*", "unknown", access::gateway, wrong_method},
    route{"POST", "/v1/events/*/holds/*/extend", "hold_extend", access::gateway, hold_extend},
    route{"*", "/v1/events/*/holds/*/extend", "hold_extend", access::gateway, wrong_method},
    route{"POST", "/v1/events/*/holds/*/confirm", "hold_confirm", access::gateway, hold_confirm},
    route{"*", "/v1/events/*/holds/*/confirm", "hold_confirm", access::gateway, wrong_method},
    route{"GET", "/v1/events/*/reservations/*", "reservation_get", access::gateway,
          reservation_get},
    route{"*", "/v1/events/*/reservations/*", "reservation_get", access::gateway, wrong_method},
    route{"POST", "/v1/events/*/reservations/*/cancel", "reservation_cancel", access::gateway,
          reservation_cancel},
    route{"*", "/v1/events/*/reservations/*/cancel", "reservation_cancel", access::gateway,
          wrong_method},
};
// Answers given before a route is chosen (401, 404, ...) count under this index.
constexpr std::size_t unknown_route = routes.size();

bool matches(std::string_view pattern, const std::vector<std::string_view>& parts) {
  std::size_t i = 0;
  while (!pattern.empty()) {
    pattern.remove_prefix(1);  // '/'
    const std::string_view segment = pattern.substr(0, pattern.find('/'));
    if (i == parts.size() || (segment != "*" && segment != parts[i])) return false;
    pattern.remove_prefix(segment.size());
    ++i;
  }
  return i == parts.size();
}

const route* find_route(std::string_view method, const std::vector<std::string_view>& parts) {
  for (const route& r : routes)
    if ((r.method == method || r.method == "*") && matches(r.pattern, parts)) return &r;
  return nullptr;
}

std::vector<std::string_view> route_names() {
  std::vector<std::string_view> names;
  for (const route& r : routes)
    names.push_back(r.name);
  names.push_back("unknown");
  return names;
}

// 405 names the methods the path has, in its message ("use GET or PUT") and in the Allow
// header RFC 9110 §15.5.6 requires ("GET, HEAD, PUT": HEAD goes wherever GET does).
void wrong_method(call& c) {
  std::string message;
  std::string allow;
  for (const route& r : routes) {
    if (r.method == "*" || !matches(r.pattern, c.parts)) continue;
    message += (message.empty() ? "" : " or ") + std::string(r.method);
    allow += (allow.empty() ? "" : ", ") + std::string(r.method);
    if (r.method == "GET") allow += ", HEAD";
  }
  http_answer a = answer_of(error_response(405, "method_not_allowed", "use " + message));
  a.headers.emplace_back("Allow", allow);
  c.reply(std::move(a));
}

// ---- the checks before a route ------------------------------------------------------------

// Whether a presented token equals a configured one, in a time that depends on the
// presented token's length only, never on how much of a secret it matches: every byte is
// compared, without an early exit, and a length difference counts as a difference (the
// secret is indexed modulo its length, so a shorter secret's length does not show either).
// A hash-map lookup, as before, compared the bytes with memcmp, whose early exit lets a
// client time its way through a token byte by byte.
bool same_secret(std::string_view presented, std::string_view secret) {
  if (secret.empty()) return false;
  unsigned difference = presented.size() == secret.size() ? 0u : 1u;
  for (std::size_t i = 0; i < presented.size(); ++i)
    difference |= static_cast<unsigned>(static_cast<unsigned char>(presented[i]) ^
                                        static_cast<unsigned char>(secret[i % secret.size()]));
  return difference == 0;
}

// The scheme is matched case-insensitively (RFC 9110 §11.1), then one or more spaces.
std::string_view bearer_token(std::string_view header) {
  constexpr std::string_view scheme = "bearer";
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ' ||
      !common::equals_ignoring_case(header.substr(0, scheme.size()), scheme))
    return {};
  const auto start = header.find_first_not_of(' ', scheme.size());
  return start == std::string_view::npos ? std::string_view{} : header.substr(start);
}

std::optional<role> caller_role(const auth_config& auth, std::string_view header) {
  if (auth.insecure_no_auth) return role::admin;
  const auto token = bearer_token(header);
  if (token.empty()) return std::nullopt;
  // Every configured token is compared, whichever matches.
  std::optional<role> found;
  for (const auto& [secret, secret_role] : auth.tokens)
    if (same_secret(token, secret)) found = secret_role;
  return found;
}

// API.md's order ("Errors"): the token and its role, then the body's size; then readiness.
std::optional<response> admission(const call& c, access needs) {
  const auto caller = caller_role(c.config.auth, c.request.authorization);
  if (!caller) return error_response(401, "unauthorized", "missing or unknown bearer token");
  if (needs == access::admin && *caller != role::admin)
    return error_response(403, "forbidden", "this operation needs an admin token");
  if (c.request.body_too_large)
    return error_response(413, "body_too_large", "the request body is over the limit");
  // Not every shard's leader need be known (that is /readyz): a request whose shard has none
  // yet waits for one.
  if (!c.node.started()) return error_response(503, "unavailable", "the node is recovering");
  return std::nullopt;
}

// Under /v1/events/{id}: the ids the path names (400) and the body's media type (415),
// checked before the route is looked up, so that a malformed request is a 400 or 415 on any
// path or method (API.md ranks 400 invalid_request before 404).
std::optional<response> malformed(const call& c) {
  const auto& p = c.parts;
  if (p.size() < 3 || p[1] != "events") return std::nullopt;
  if (!common::is_identifier(p[2]))
    return error_response(400, "invalid_request", "event_id: must be 1 to 64 of [A-Za-z0-9._:-]");
  const http_request& r = c.request;
  if (!r.content_type.empty() && !r.body.empty() &&
      r.content_type.find("application/json") == std::string::npos)
    return error_response(415, "unsupported_media_type", "request bodies are application/json");
  if (p.size() >= 5 && p[3] == "holds" && !common::is_identifier(p[4]))
    return error_response(400, "invalid_request", "hold_id: must be 1 to 64 of [A-Za-z0-9._:-]");
  if (p.size() >= 5 && p[3] == "reservations" && !common::is_identifier(p[4]))
    return error_response(400, "invalid_request",
                          "reservation_id: must be 1 to 64 of [A-Za-z0-9._:-]");
  return std::nullopt;
}

}  // namespace

router::router(router_config config, cluster::node& node, common::metrics_registry& metrics)
    : config_(std::move(config)),
      node_(node),
      metrics_(metrics),
      series_(std::make_unique<series_table>(metrics, route_names())) {}

router::~router() = default;

void router::handle(http_request request, responder respond) {
  serve(std::move(request), std::move(respond), false);
}

void router::handle_operations(http_request request, responder respond) {
  serve(std::move(request), std::move(respond), true);
}

struct router::leader_links {
  cluster::node& node;
  const router_config& config;
  common::metrics_registry& metrics;
  const std::function<cluster_view()>& view;
  const forward_fn& forward;
  const after_fn& after;
};

namespace {

// An event's request in a replicated node, which may have to be served elsewhere. Each step
// is bounded by `deadline`.
struct event_request_route {
  const router::leader_links& links;
  std::shared_ptr<const http_request> request;
  std::string event_id;
  const route* found;
  clock_type::time_point deadline;

  // Runs the route here, with the request's refusals (nothing changed, not the leader)
  // sent on to the leader instead of answered.
  void here(const reply_to& answer) const {
    call c = call_of(*request, links.node, links.config, links.metrics, answer, links.view);
    c.reply.set_elsewhere([self = *this](const reply_to& r) { self.again(r, {}); });
    found->run(c);
  }

  // Wherever the event is served now: at its shard's leader, or here if this node leads it.
  void next(const reply_to& answer) const {
    if (const auto leader = links.node.leader_elsewhere(event_id)) return at(*leader, answer);
    if (links.node.leads_event(event_id)) return here(answer);
    again(answer, "no leader is known for the event's shard; nothing was changed: retry");
  }

  // Tries again in 20 ms, or answers 503 `why` past the deadline.
  void again(const reply_to& answer, std::string why) const {
    if (clock_type::now() >= deadline)
      return answer.error(503, "unavailable",
                          why.empty() ? "the event's shard is changing leader; nothing was "
                                        "changed: retry"
                                      : why);
    links.after(std::chrono::milliseconds(20), [self = *this, answer] { self.next(answer); });
  }

  void at(cluster::raft::node_id leader, const reply_to& answer) const {
    links.forward(
        leader, *request,
        [self = *this, answer](http_answer a) {
          const auto marked = std::find_if(a.headers.begin(), a.headers.end(), [](const auto& h) {
            return common::equals_ignoring_case(h.first, router::refused_header);
          });
          // That node no longer leads the shard either, and changed nothing.
          if (a.status == 503 && marked != a.headers.end()) return self.again(answer, {});
          // answer adds its own X-Request-Id (the same id) and Retry-After.
          std::erase_if(a.headers, [](const auto& h) {
            return common::equals_ignoring_case(h.first, "X-Request-Id") ||
                   common::equals_ignoring_case(h.first, "Retry-After");
          });
          answer(std::move(a));
        },
        [self = *this, answer](const std::string& why, bool sent) {
          if (!sent) return self.again(answer, why);  // it never left: nothing changed
          answer.error(503, "unavailable", why);
        });
  }
};

}  // namespace

void router::set_forwarding(forward_fn forward, after_fn after) {
  forward_ = std::move(forward);
  after_ = std::move(after);
  links_ = std::make_unique<leader_links>(
      leader_links{node_, config_, metrics_, cluster_view_, forward_, after_});
}

void router::serve(http_request request, responder respond, bool operations_only) {
  // One id for the request on every node it passes through (forwarding carries it).
  if (!usable_request_id(request.request_id)) request.request_id = new_request_id();
  // Replicated, the request is kept until answered: it may go to another node later.
  std::shared_ptr<const http_request> kept;
  if (links_) kept = std::make_shared<const http_request>(std::move(request));
  const http_request& r = kept ? *kept : request;
  call c =
      call_of(r, node_, config_, metrics_,
              reply_to(*series_, unknown_route, r.request_id, std::move(respond)), cluster_view_);
  // HEAD is answered as GET is, and the HTTP layer sends no body (RFC 9110 §9.3.2).
  const route* found = find_route(r.method == "HEAD" ? "GET" : r.method, c.parts);
  if (operations_only && found && found->needs != access::open) found = nullptr;
  if (operations_only && !found) return c.reply.error(404, "not_found", "no such route");
  // Every request under /v1 needs a token, found or not; outside it only the operations
  // endpoints exist, and they need none.
  const bool api = !c.parts.empty() && c.parts[0] == "v1";
  if (api) {
    if (auto refused = admission(c, found ? found->needs : access::gateway))
      return c.reply(*refused);
    if (auto refused = malformed(c)) return c.reply(*refused);
  }
  if (!found) return c.reply.error(404, "not_found", "no such route");
  c.reply.set_route(static_cast<std::size_t>(found - routes.data()));
  if (links_ && c.parts.size() >= 3 && c.parts[1] == "events") {
    // A request another node forwarded is served here or refused, never sent on again; its
    // refusals say so, for that node to send it on.
    if (r.forwarded) {
      c.reply.mark_refusals();
      return found->run(c);
    }
    // Any other goes to the leader of its event's shard, now or after a refusal.
    const event_request_route route{*links_, kept, c.event_id(), found,
                                    clock_type::now() + std::chrono::seconds(2)};
    if (const auto leader = node_.leader_elsewhere(c.parts[2])) return route.at(*leader, c.reply);
    c.reply.set_elsewhere([route](const reply_to& answer) { route.again(answer, {}); });
  }
  found->run(c);
}

}  // namespace seatd::api
