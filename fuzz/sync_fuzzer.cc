// Fuzzes every parser of the sync module: the first byte picks the proposal
// decoder, the vote decoder, the peer public-key format, the keystore file
// format, or the sealed-message opener (against a fixed keystore), which must
// reject anything it did not seal with a reason and never crash.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "ruvector_dag/sync.h"

using namespace ruvector_dag::sync;  // NOLINT: fuzz entry point

namespace {

Keystore* FixedKeystore() {
  static Keystore* ks = [] {
    auto self = NodeIdentity::Generate("fuzz-self");
    auto peer = NodeIdentity::Generate("fuzz-peer");
    if (!self.ok() || !peer.ok()) __builtin_trap();
    auto* k = new Keystore(std::move(self).value());
    if (!k->AddPeer(peer->info()).ok()) __builtin_trap();
    return k;
  }();
  return ks;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const ByteView in(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      auto p = DecodeProposal(in);
      if (p.ok()) {
        // What decodes re-encodes to the same bytes.
        if (EncodeProposal(*p) != Bytes(in.begin(), in.end())) __builtin_trap();
      }
      break;
    }
    case 1: {
      auto v = DecodeVote(in);
      if (v.ok() && EncodeVote(*v) != Bytes(in.begin(), in.end())) __builtin_trap();
      break;
    }
    case 2:
      (void)PeerInfo::Parse(in);
      break;
    case 3:
      (void)Keystore::Parse(in);
      break;
    default: {
      MessageOpener opener(FixedKeystore());
      RejectReason why = RejectReason::kNone;
      auto r = opener.Open(in, 1'800'000'000'000'000, &why);
      if (r.ok() || why == RejectReason::kNone) __builtin_trap();
      break;
    }
  }
  return 0;
}
