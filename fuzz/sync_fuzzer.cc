// Fuzzes every parser of the sync module: the first byte picks the proposal
// decoder, the vote decoder, the peer public-key format, the keystore file
// format, the sealed-message opener (against a fixed keystore), which must
// reject anything it did not seal with a reason and never crash, or the node
// state image (SyncNode::RestoreState; the fuzzer's bytes get the fixed
// node's id and a valid checksum, so the fields behind them are reached).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "ruvector_dag/core.h"
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

/// A fresh node of the fixed keystore (state images restore into it).
std::unique_ptr<SyncNode> FreshNode() {
  static const SecretBytes* image = new SecretBytes(FixedKeystore()->Serialize());
  auto ks = Keystore::Parse(image->view());
  if (!ks.ok()) __builtin_trap();
  auto node = SyncNode::Create(std::move(ks).value(), SyncNodeOptions());
  if (!node.ok()) __builtin_trap();
  return std::move(node).value();
}

void FuzzStateImage(ByteView in) {
  std::unique_ptr<SyncNode> node = FreshNode();
  Bytes image(in.begin(), in.end());
  constexpr size_t kIdAt = 8;
  if (image.size() >= kIdAt + 32) {
    const auto& id = node->id().bytes;
    std::copy(id.begin(), id.end(), image.begin() + kIdAt);
  }
  const uint32_t crc = ruvector_dag::Crc32c(image.data(), image.size());
  for (int i = 0; i < 4; ++i) image.push_back(static_cast<uint8_t>(crc >> (8 * i)));
  const Bytes before = node->SaveState();
  if (!node->RestoreState(image).ok()) {
    if (node->SaveState() != before) __builtin_trap();  // a refused image changes nothing
    return;
  }
  // What was restored saves to an image that restores to the same state.
  const Bytes saved = node->SaveState();
  std::unique_ptr<SyncNode> again = FreshNode();
  if (!again->RestoreState(saved).ok() || again->SaveState() != saved) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const ByteView in(data + 1, size - 1);
  switch (data[0] % 6) {
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
    case 5:
      FuzzStateImage(in);
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
