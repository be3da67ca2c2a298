#include "api/router.hpp"

#include <chrono>
#include <memory>
#include <random>
#include <string_view>
#include <vector>

#include "api/json_codec.hpp"
#include "common/checksum.hpp"
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

// Admin-only operations: creating and changing events, and the cluster view.
bool needs_admin(const std::string& method, const std::vector<std::string_view>& parts) {
  if (parts.size() == 2 && parts[1] == "cluster") return true;
  if (parts.size() == 3 && parts[1] == "events" && method == "PUT") return true;
  return parts.size() == 5 && parts[1] == "events" && parts[3] == "seats" &&
         (parts[4] == "block" || parts[4] == "unblock");
}

}  // namespace

router::router(router_config config, cluster::node& node, common::metrics_registry& metrics)
    : config_(std::move(config)), node_(node), metrics_(metrics) {}

void router::handle(http_request request, responder respond_raw) {
  const auto started = clock_type::now();
  std::string request_id =
      usable_request_id(request.request_id) ? request.request_id : new_request_id();
  // Every answer goes through here: request id, Retry-After, metrics.
  auto route_name = std::make_shared<std::string>("unknown");
  auto respond = [this, respond_raw, request_id, route_name, started](http_answer a) {
    a.headers.emplace_back("X-Request-Id", request_id);
    if (a.status == 429 || a.status == 503) a.headers.emplace_back("Retry-After", "1");
    const std::string labels =
        "route=\"" + *route_name + "\",status=\"" + std::to_string(a.status) + "\"";
    metrics_.counter_for("seatd_http_requests_total", "HTTP requests by route and status", labels)
        .add();
    metrics_
        .histogram_for("seatd_http_request_seconds", "HTTP request latency by route and status",
                       labels)
        .observe(std::chrono::duration<double>(clock_type::now() - started).count());
    respond_raw(std::move(a));
  };
  auto reply = [&](const response& r) { respond(answer_of(r)); };
  auto error = [&](unsigned status, std::string_view code, std::string_view message) {
    reply(error_response(status, code, message));
  };

  const std::string_view target = request.target;
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  const auto parts = split_path(path);
  const std::string& method = request.method;

  // Operations endpoints need no token.
  if (parts.size() == 1 && method == "GET") {
    if (parts[0] == "healthz") {
      *route_name = "healthz";
      return reply({200, "{\"status\":\"ok\"}"});
    }
    if (parts[0] == "readyz") {
      *route_name = "readyz";
      if (node_.ready()) return reply({200, "{\"status\":\"ready\"}"});
      return error(503, "unavailable", "recovering");
    }
    if (parts[0] == "metrics") {
      *route_name = "metrics";
      return respond({200, metrics_.render(), "text/plain; version=0.0.4", {}});
    }
  }

  if (parts.empty() || parts[0] != "v1") return error(404, "not_found", "no such route");

  // API.md's order: 401 and 403, then 413, then malformed requests, then the rest.
  role caller = role::admin;
  if (!config_.auth.insecure_no_auth) {
    const std::string_view header = request.authorization;
    const bool bearer =
        header.size() > 7 && (header.substr(0, 7) == "Bearer " || header.substr(0, 7) == "bearer ");
    const auto token = bearer ? header.substr(7) : std::string_view{};
    const auto found = config_.auth.tokens.find(std::string(token));
    if (token.empty() || found == config_.auth.tokens.end())
      return error(401, "unauthorized", "missing or unknown bearer token");
    caller = found->second;
  }
  if (needs_admin(method, parts) && caller != role::admin)
    return error(403, "forbidden", "this operation needs an admin token");
  if (request.body_too_large)
    return error(413, "body_too_large", "the request body is over the limit");
  if (!node_.ready()) return error(503, "unavailable", "the node is recovering");

  if (parts.size() == 2 && parts[1] == "cluster") {
    *route_name = "cluster";
    if (method != "GET") return error(405, "method_not_allowed", "use GET");
    std::string body = "{\"node_id\":\"" + config_.node_id + "\",\"nodes\":[{\"id\":\"" +
                       config_.node_id + "\",\"state\":\"" + (node_.ready() ? "up" : "recovering") +
                       "\"}],\"shards\":[";
    for (std::uint32_t s = 0; s < node_.shard_count(); ++s) {
      if (s > 0) body += ",";
      body += "{\"id\":" + std::to_string(s) + ",\"replicas\":[\"" + config_.node_id +
              "\"],\"leader\":\"" + config_.node_id +
              "\",\"term\":0,\"commit_index\":" + std::to_string(node_.log().last_index(s)) + "}";
    }
    body += "],\"events\":" + std::to_string(node_.event_count()) + "}";
    return reply({200, std::move(body)});
  }

  if (parts.size() < 3 || parts[1] != "events") return error(404, "not_found", "no such route");
  const std::string event_id(parts[2]);
  if (!common::is_identifier(event_id))
    return error(400, "invalid_request", "event_id: must be 1 to 64 of [A-Za-z0-9._:-]");
  if (!request.content_type.empty() && !request.body.empty() &&
      request.content_type.find("application/json") == std::string::npos)
    return error(415, "unsupported_media_type", "request bodies are application/json");

  auto send = [&](std::shared_ptr<event_request> r) {
    switch (node_.dispatch(event_id, std::move(r))) {
      case cluster::dispatch_status::sent:
        return;
      case cluster::dispatch_status::not_found:
        return error(404, "event_not_found", "no event \"" + event_id + "\"");
      case cluster::dispatch_status::overloaded:
        return error(429, "overloaded", "the event is busy; retry shortly");
    }
  };
  // A read: render from the machine on its actor.
  auto read = [&](std::function<response(const event_machine&)> render) {
    auto r = std::make_shared<event_request>();
    r->handle = [render = std::move(render), respond](const event_machine& m,
                                                      const auto*) -> finish {
      return [a = answer_of(render(m)), respond]() mutable { respond(std::move(a)); };
    };
    send(std::move(r));
  };
  // A mutation: the answer is rendered on the actor and sent once the change is durable.
  auto mutate = [&](actors::command command,
                    std::function<response(const actors::command_reply&)> ok) {
    auto r = std::make_shared<event_request>();
    r->mutation = std::move(command);
    r->handle = [ok = std::move(ok), respond](
                    const event_machine& m,
                    const actors::result<actors::command_reply>* result) -> finish {
      const response out =
          result->ok() ? ok(result->value()) : failure_response(result->error(), m.layout());
      return [a = answer_of(out), respond]() mutable { respond(std::move(a)); };
    };
    r->overloaded = [respond] {
      respond(answer_of(error_response(429, "overloaded", "the node is busy; retry shortly")));
    };
    send(std::move(r));
  };
  const std::uint64_t fingerprint =
      common::fnv1a64(method + " " + std::string(path) + "\n" + request.body);

  // /v1/events/{id}
  if (parts.size() == 3) {
    *route_name = "event";
    if (method == "GET")
      return read([](const event_machine& m) { return response{200, render_event(m)}; });
    if (method != "PUT") return error(405, "method_not_allowed", "use GET or PUT");
    *route_name = "event_put";
    auto spec = parse_event_spec(request.body);
    if (!spec) return reply(spec.error());
    const actors::event_spec wanted = spec.value();
    auto created = node_.create_event(
        event_id, std::move(spec).value(),
        [respond, wanted](const event_machine& m, bool is_new) -> finish {
          response out{201, render_event_created(m)};
          if (!is_new)
            out = m.same_definition(wanted)
                      ? response{200, render_event_created(m)}
                      : error_response(409, "event_conflict",
                                       "the event exists with another definition");
          return [a = answer_of(out), respond]() mutable { respond(std::move(a)); };
        });
    if (!created) {
      // Only a definition that does not validate fails here: no seat details to name.
      const actors::failure& f = created.error();
      return error(http_status(f.code), actors::errc_name(f.code), f.message);
    }
    if (created.value() == cluster::dispatch_status::overloaded)
      return error(429, "overloaded", "the node is busy; retry shortly");
    if (created.value() == cluster::dispatch_status::not_found)  // the node is stopping
      return error(503, "unavailable", "the node is stopping");
    return;
  }

  const std::string_view collection = parts[3];
  // /v1/events/{id}/seats, /seats/block, /seats/unblock
  if (collection == "seats") {
    if (parts.size() == 4) {
      *route_name = "seats";
      if (method != "GET") return error(405, "method_not_allowed", "use GET");
      const auto section = query_param(query, "section");
      return read([section](const event_machine& m) {
        std::optional<std::uint32_t> index;
        if (section) {
          index = m.layout().find_section(*section);
          if (!index)
            return error_response(400, "invalid_request",
                                  "section: the event has no section \"" + *section + "\"");
        }
        return response{200, render_seats(m, index)};
      });
    }
    if (parts.size() == 5 && (parts[4] == "block" || parts[4] == "unblock")) {
      const bool block = parts[4] == "block";
      *route_name = block ? "seats_block" : "seats_unblock";
      if (method != "POST") return error(405, "method_not_allowed", "use POST");
      auto command = parse_block(request.body, block);
      if (!command) return reply(command.error());
      return mutate(std::move(command).value(), [event_id](const actors::command_reply& r) {
        return response{200,
                        render_seat_states(event_id, std::get<std::vector<actors::seat_view>>(r))};
      });
    }
    return error(404, "not_found", "no such route");
  }

  if (collection == "holds") {
    if (parts.size() == 4) {
      *route_name = "hold";
      if (method != "POST") return error(405, "method_not_allowed", "use POST");
      auto command = parse_hold(request.body);
      if (!command) return reply(command.error());
      command.value().request_fingerprint = fingerprint;
      return mutate(std::move(command).value(), [event_id](const actors::command_reply& r) {
        return response{201, render_hold(event_id, std::get<actors::hold_view>(r), false)};
      });
    }
    std::string hold_id(parts[4]);
    if (!common::is_identifier(hold_id))
      return error(400, "invalid_request", "hold_id: must be 1 to 64 of [A-Za-z0-9._:-]");
    auto hold_answer = [event_id](const actors::command_reply& r) {
      return response{200, render_hold(event_id, std::get<actors::hold_view>(r), true)};
    };
    if (parts.size() == 5) {
      if (method == "GET") {
        *route_name = "hold_get";
        return read([event_id, hold_id](const event_machine& m) {
          auto hold = m.find_hold(hold_id);
          if (!hold) return failure_response(hold.error(), m.layout());
          return response{200, render_hold(event_id, hold.value(), true)};
        });
      }
      if (method == "DELETE") {
        *route_name = "hold_release";
        auto command = parse_release(request.body, hold_id);
        if (!command) return reply(command.error());
        return mutate(std::move(command).value(), hold_answer);
      }
      return error(405, "method_not_allowed", "use GET or DELETE");
    }
    if (parts.size() == 6 && parts[5] == "extend") {
      *route_name = "hold_extend";
      if (method != "POST") return error(405, "method_not_allowed", "use POST");
      auto command = parse_extend(request.body, hold_id);
      if (!command) return reply(command.error());
      return mutate(std::move(command).value(), hold_answer);
    }
    if (parts.size() == 6 && parts[5] == "confirm") {
      *route_name = "hold_confirm";
      if (method != "POST") return error(405, "method_not_allowed", "use POST");
      auto command = parse_confirm(request.body, hold_id);
      if (!command) return reply(command.error());
      // Back-pressure from the reservation stream (off unless --outbox-high-water is set).
      if (node_.outbox_over_high_water())
        return error(503, "unavailable",
                     "the reservation stream is behind (" + std::to_string(node_.outbox_depth()) +
                         " records wait for Kafka); retry shortly");
      command.value().request_fingerprint = fingerprint;
      return mutate(std::move(command).value(), [event_id](const actors::command_reply& r) {
        const auto& c = std::get<actors::confirm_reply>(r);
        return response{c.created ? 201u : 200u, render_reservation(event_id, c.reservation)};
      });
    }
    return error(404, "not_found", "no such route");
  }

  if (collection == "reservations" && parts.size() >= 5) {
    std::string reservation_id(parts[4]);
    if (!common::is_identifier(reservation_id))
      return error(400, "invalid_request", "reservation_id: must be 1 to 64 of [A-Za-z0-9._:-]");
    if (parts.size() == 5) {
      *route_name = "reservation_get";
      if (method != "GET") return error(405, "method_not_allowed", "use GET");
      return read([event_id, reservation_id](const event_machine& m) {
        auto r = m.find_reservation(reservation_id);
        if (!r) return failure_response(r.error(), m.layout());
        return response{200, render_reservation(event_id, r.value())};
      });
    }
    if (parts.size() == 6 && parts[5] == "cancel") {
      *route_name = "reservation_cancel";
      if (method != "POST") return error(405, "method_not_allowed", "use POST");
      auto command = parse_cancel(request.body, reservation_id);
      if (!command) return reply(command.error());
      return mutate(std::move(command).value(), [event_id](const actors::command_reply& r) {
        return response{
            200, render_reservation(event_id, std::get<actors::cancel_reply>(r).reservation)};
      });
    }
  }
  return error(404, "not_found", "no such route");
}

}  // namespace seatd::api
