#include "cluster/membership.hpp"

#include <algorithm>
#include <set>

#include "common/checksum.hpp"
#include "common/identifier.hpp"

namespace seatd::cluster {

raft::node_id member_id(std::string_view name) {
  const std::uint64_t h = common::fnv1a64(name);
  return h == raft::no_node ? 1 : h;
}

common::result<std::vector<member>, std::string> parse_members(std::string_view text,
                                                               std::string_view self) {
  constexpr std::size_t members_max = 64;
  std::vector<member> out;
  std::set<raft::node_id> ids;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const std::string_view item = text.substr(at, comma - at);
    at = comma + 1;
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos)
      return common::fail("--peers: \"" + std::string(item) + "\" is not NAME=HOST:PORT");
    const std::string name(item.substr(0, equals));
    if (!common::is_identifier(name))
      return common::fail("--peers: the name \"" + name + "\" is not 1 to 64 of [A-Za-z0-9._:-]");
    auto address = common::parse_host_port(item.substr(equals + 1));
    if (!address) return common::fail("--peers: " + name + ": " + address.error());
    const raft::node_id id = member_id(name);
    if (!ids.insert(id).second)
      return common::fail("--peers: " + name + " is listed twice (or its id collides)");
    out.push_back({name, id, std::move(address).value()});
    if (out.size() > members_max) return common::fail(std::string("--peers: more than 64 members"));
  }
  if (std::none_of(out.begin(), out.end(), [&](const member& m) { return m.name == self; }))
    return common::fail("--peers does not list this node (--node-id " + std::string(self) + ")");
  std::sort(out.begin(), out.end(),
            [](const member& a, const member& b) { return a.name < b.name; });
  return out;
}

}  // namespace seatd::cluster
