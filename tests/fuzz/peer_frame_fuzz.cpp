// libFuzzer target: the byte stream a peer connection reads (cluster/peer_codec.hpp), before
// and after the handshake. The first input byte chooses how the stream is split into reads;
// the rest is the stream. Any bytes yield frames or a refusal with a message; nothing
// crashes, throws or allocates past the frame limit; every body that decodes encodes and
// decodes back to the same message, so what one node sends is what the other acts on.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "cluster/peer_codec.hpp"
#include "common/assert.hpp"

namespace {

using namespace seatd::cluster::peer;

template <class M, class Decode>
void round_trip(const frame& f, Decode decode) {
  const auto decoded = decode(std::span<const std::uint8_t>(f.body));
  if (!decoded) {
    SEATD_ASSERT(!decoded.error().empty(), "a refused body without a message");
    return;
  }
  const M& m = decoded.value();
  const auto again = decode(std::span<const std::uint8_t>(encode(m)));
  SEATD_ASSERT(again.ok(), "an accepted message encodes to bytes that do not decode");
  SEATD_ASSERT(again.value() == m, "a message does not survive encode and decode");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0];
  const std::span<const std::uint8_t> stream(data + 1, size - 1);
  frame_reader reader;
  bool authenticated = false;
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    const auto frames = reader.feed(stream.subspan(at, std::min(piece, stream.size() - at)));
    if (!frames) {
      SEATD_ASSERT(!frames.error().empty(), "a refused stream without a message");
      SEATD_ASSERT(reader.buffered() == 0, "a broken stream keeps its buffer");
      return 0;
    }
    SEATD_ASSERT(reader.buffered() < frame_header_bytes + frame_bytes_max,
                 "the reader buffers past its limit");
    for (const frame& f : frames.value()) {
      SEATD_ASSERT(f.body.size() + 1 <= frame_bytes_max, "a frame over the limit");
      switch (f.kind) {
        case frame_kind::hello:
          round_trip<hello>(f, decode_hello);
          break;
        case frame_kind::challenge:
          round_trip<challenge>(f, decode_challenge);
          break;
        case frame_kind::proof:
          round_trip<proof>(f, decode_proof);
          // As the transport does: the limit rises once the handshake is done.
          if (!authenticated) reader.set_limit(frame_bytes_max);
          authenticated = true;
          break;
        case frame_kind::refused:
          round_trip<refused>(f, decode_refused);
          break;
        case frame_kind::raft:
          round_trip<raft_frame>(f, decode_raft);
          break;
        case frame_kind::snapshot_piece:
          round_trip<snapshot_piece>(f, decode_snapshot_piece);
          break;
        case frame_kind::forward_request:
          round_trip<forward_request>(f, decode_forward_request);
          break;
        case frame_kind::forward_response:
          round_trip<forward_response>(f, decode_forward_response);
          break;
      }
    }
  }
  return 0;
}
