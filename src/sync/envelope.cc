// Sealed, signed messages: the wire format, sealing, and the checks a
// received message passes (docs/sync.md, "Message format").
#include <cstdlib>
#include <cstring>

#include "ruvector_dag/sync.h"
#include "sync/internal/aead.h"
#include "sync/internal/wire.h"

namespace ruvector_dag::sync {
namespace {

constexpr char kMagic[4] = {'R', 'V', 'Q', 'S'};
constexpr uint8_t kVersion = 1;
constexpr std::string_view kSignatureContext = "ruvector-sync/v1 message";
constexpr std::string_view kKdfLabel = "ruvector-sync/v1 aead key";
// Offsets of the fixed part.
constexpr size_t kKemOffset = kEnvelopeHeaderBytes;
constexpr size_t kNonceOffset = kKemOffset + kKemCiphertextBytes;
constexpr size_t kLengthOffset = kNonceOffset + kAeadNonceBytes;
constexpr size_t kSealedOffset = kLengthOffset + 4;

void WriteHeader(internal::Writer& w, const EnvelopeHeader& h) {
  w.Raw(kMagic, 4);
  w.U8(h.version);
  w.U8(static_cast<uint8_t>(h.kind));
  w.U16(0);
  w.Raw(h.sender.bytes.data(), h.sender.bytes.size());
  w.Raw(h.recipient.bytes.data(), h.recipient.bytes.size());
  w.U64(h.sequence);
  w.I64(h.timestamp_us);
}

// The AEAD key: HKDF-SHA256 of the ML-KEM shared secret, bound to the header
// (sender, recipient, sequence, time, kind) and the KEM ciphertext.
Result<SecretBytes> DeriveKey(const SecretBytes& shared_secret, ByteView header_and_kem) {
  Bytes info(kKdfLabel.begin(), kKdfLabel.end());
  info.insert(info.end(), header_and_kem.begin(), header_and_kem.end());
  return internal::HkdfSha256(shared_secret.view(), info, internal::kAeadKeyBytes);
}

Status Reject(RejectReason why, RejectReason* out, std::string message) {
  if (out != nullptr) *out = why;
  const StatusCode code = why == RejectReason::kBadSignature || why == RejectReason::kDecryptFailed
                              ? StatusCode::kDataLoss
                          : why == RejectReason::kMalformed || why == RejectReason::kUnsupportedVersion ||
                                  why == RejectReason::kBadPayload
                              ? StatusCode::kInvalidArgument
                              : StatusCode::kFailedPrecondition;
  return Status(code, "sync message rejected (" + std::string(RejectReasonName(why)) + "): " + message);
}

}  // namespace

std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone: return "none";
    case RejectReason::kMalformed: return "malformed";
    case RejectReason::kUnsupportedVersion: return "unsupported_version";
    case RejectReason::kWrongRecipient: return "wrong_recipient";
    case RejectReason::kUnknownSender: return "unknown_sender";
    case RejectReason::kIgnoredSender: return "ignored_sender";
    case RejectReason::kBadSignature: return "bad_signature";
    case RejectReason::kStale: return "stale";
    case RejectReason::kReplayed: return "replayed";
    case RejectReason::kDecryptFailed: return "decrypt_failed";
    case RejectReason::kBadPayload: return "bad_payload";
  }
  return "unknown";
}

Result<Bytes> MessageSealer::Seal(MessageKind kind, const PeerInfo& recipient, ByteView payload,
                                  int64_t now_us) {
  if (payload.size() > kMaxPayloadBytes) {
    return Status::OutOfRange("payload of " + std::to_string(payload.size()) + " bytes exceeds " +
                              std::to_string(kMaxPayloadBytes));
  }
  if (kind != MessageKind::kPatternProposal && kind != MessageKind::kVote && kind != MessageKind::kHeartbeat) {
    return Status::InvalidArgument("unknown message kind " + std::to_string(static_cast<int>(kind)));
  }
  if (now_us <= 0) return Status::InvalidArgument("timestamp must be positive");
  EnvelopeHeader h;
  h.version = kVersion;
  h.kind = kind;
  h.sender = self_->id();
  h.recipient = recipient.id;
  const uint64_t now = static_cast<uint64_t>(now_us);
  h.sequence = last_sequence_ + 1 > now ? last_sequence_ + 1 : now;
  h.timestamp_us = now_us;

  RUVECTOR_ASSIGN_OR_RETURN(KemEncapsulation enc, KemEncapsulate(recipient.kem_public_key));
  Bytes out;
  out.reserve(kEnvelopeOverheadBytes + payload.size());
  internal::Writer w(&out);
  WriteHeader(w, h);
  w.Raw(enc.ciphertext);
  RUVECTOR_ASSIGN_OR_RETURN(SecretBytes key, DeriveKey(enc.shared_secret, out));
  uint8_t nonce[kAeadNonceBytes];
  RUVECTOR_RETURN_IF_ERROR(internal::RandomBytes(nonce, sizeof(nonce)));
  w.Raw(nonce, sizeof(nonce));
  w.U32(static_cast<uint32_t>(payload.size() + kAeadTagBytes));
  RUVECTOR_ASSIGN_OR_RETURN(Bytes sealed,
                            internal::AeadSeal(key, ByteView(nonce, sizeof(nonce)), out, payload));
  w.Raw(sealed);
  RUVECTOR_ASSIGN_OR_RETURN(Bytes signature, self_->Sign(out, kSignatureContext));
  w.Raw(signature);
  last_sequence_ = h.sequence;
  return out;
}

Status ReplayGuard::Check(const NodeId& sender, uint64_t sequence) const {
  auto it = windows_.find(sender);
  if (it == windows_.end() || sequence > it->second.highest) return Status::Ok();
  const Window& win = it->second;
  const uint64_t behind = win.highest - sequence;
  const uint32_t window = options_.window == 0 ? 1 : (options_.window > 64 ? 64 : options_.window);
  if (behind >= window) {
    return Status::FailedPrecondition("sequence " + std::to_string(sequence) + " from " + sender.Short() +
                                      " is older than the replay window (highest seen " +
                                      std::to_string(win.highest) + ")");
  }
  if ((win.seen >> behind) & 1) {
    return Status::FailedPrecondition("sequence " + std::to_string(sequence) + " from " + sender.Short() +
                                      " was already received");
  }
  return Status::Ok();
}

void ReplayGuard::Record(const NodeId& sender, uint64_t sequence) {
  auto [it, inserted] = windows_.try_emplace(sender);
  Window& win = it->second;
  if (inserted) {
    win.highest = sequence;
    win.seen = 1;
    return;
  }
  if (sequence > win.highest) {
    const uint64_t shift = sequence - win.highest;
    win.seen = shift >= 64 ? 0 : win.seen << shift;
    win.seen |= 1;
    win.highest = sequence;
  } else {
    const uint64_t behind = win.highest - sequence;
    if (behind < 64) win.seen |= uint64_t{1} << behind;
  }
}

Result<OpenedMessage> MessageOpener::Open(ByteView message, int64_t now_us, RejectReason* reason) {
  if (reason != nullptr) *reason = RejectReason::kNone;
  if (message.size() < kEnvelopeOverheadBytes) {
    return Reject(RejectReason::kMalformed, reason,
                  std::to_string(message.size()) + " bytes, shorter than the " +
                      std::to_string(kEnvelopeOverheadBytes) + "-byte envelope");
  }
  internal::Reader r(message, "sync message");
  uint8_t magic[4];
  uint8_t version = 0, kind = 0;
  uint16_t reserved = 0;
  OpenedMessage opened;
  EnvelopeHeader& h = opened.header;
  r.Raw(magic, 4, "magic");
  r.U8(&version, "version");
  r.U8(&kind, "kind");
  r.U16(&reserved, "reserved");
  r.Raw(h.sender.bytes.data(), h.sender.bytes.size(), "sender");
  r.Raw(h.recipient.bytes.data(), h.recipient.bytes.size(), "recipient");
  r.U64(&h.sequence, "sequence");
  r.I64(&h.timestamp_us, "timestamp");
  ByteView kem_ct, nonce;
  uint32_t sealed_len = 0;
  r.View(&kem_ct, kKemCiphertextBytes, "KEM ciphertext");
  r.View(&nonce, kAeadNonceBytes, "AEAD nonce");
  r.U32(&sealed_len, "sealed length");
  if (!r.status().ok()) return Reject(RejectReason::kMalformed, reason, r.status().message());
  if (std::memcmp(magic, kMagic, 4) != 0) return Reject(RejectReason::kMalformed, reason, "bad magic");
  if (version != kVersion) {
    return Reject(RejectReason::kUnsupportedVersion, reason,
                  "version " + std::to_string(version) + ", this build reads version " + std::to_string(kVersion));
  }
  if (kind != static_cast<uint8_t>(MessageKind::kPatternProposal) && kind != static_cast<uint8_t>(MessageKind::kVote) &&
      kind != static_cast<uint8_t>(MessageKind::kHeartbeat)) {
    return Reject(RejectReason::kMalformed, reason, "unknown kind " + std::to_string(kind));
  }
  if (reserved != 0) return Reject(RejectReason::kMalformed, reason, "reserved field is not zero");
  h.version = version;
  h.kind = static_cast<MessageKind>(kind);
  if (sealed_len < kAeadTagBytes || sealed_len > kMaxPayloadBytes + kAeadTagBytes ||
      message.size() != kSealedOffset + sealed_len + kSignatureBytes) {
    return Reject(RejectReason::kMalformed, reason,
                  "sealed length " + std::to_string(sealed_len) + " does not match the message size " +
                      std::to_string(message.size()));
  }
  const NodeIdentity& self = keystore_->self();
  if (h.recipient != self.id()) {
    return Reject(RejectReason::kWrongRecipient, reason,
                  "sealed for " + h.recipient.Short() + ", this node is " + self.id().Short());
  }
  const PeerInfo* peer = keystore_->FindPeer(h.sender);
  if (peer == nullptr) return Reject(RejectReason::kUnknownSender, reason, "sender " + h.sender.Short() + " is not in the keystore");
  if (filter_ != nullptr && filter_->IsIgnored(h.sender)) {
    return Reject(RejectReason::kIgnoredSender, reason,
                  "sender " + peer->name + " (" + h.sender.Short() + ") is ignored: reputation below threshold");
  }
  const size_t signed_len = kSealedOffset + sealed_len;
  const ByteView signed_part = message.first(signed_len);
  const ByteView signature = message.subspan(signed_len);
  if (Status s = Verify(peer->sig_public_key, signed_part, signature, kSignatureContext); !s.ok()) {
    return Reject(RejectReason::kBadSignature, reason,
                  "signature of sender " + peer->name + " (" + h.sender.Short() + ") does not verify");
  }
  const int64_t skew = h.timestamp_us > now_us ? h.timestamp_us - now_us : now_us - h.timestamp_us;
  if (h.timestamp_us <= 0 || skew > replay_.options().max_clock_skew_us) {
    return Reject(RejectReason::kStale, reason,
                  "timestamp " + std::to_string(h.timestamp_us) + " is " + std::to_string(skew / 1000000) +
                      " s from this node's clock (allowed " +
                      std::to_string(replay_.options().max_clock_skew_us / 1000000) + " s)");
  }
  if (Status s = replay_.Check(h.sender, h.sequence); !s.ok()) {
    return Reject(RejectReason::kReplayed, reason, s.message());
  }
  auto shared = self.Decapsulate(kem_ct);
  if (!shared.ok()) return Reject(RejectReason::kDecryptFailed, reason, shared.status().message());
  auto key = DeriveKey(shared.value(), message.first(kNonceOffset));
  if (!key.ok()) return Reject(RejectReason::kDecryptFailed, reason, key.status().message());
  auto plain = internal::AeadOpen(key.value(), nonce, message.first(kSealedOffset),
                                  message.subspan(kSealedOffset, sealed_len));
  if (!plain.ok()) return Reject(RejectReason::kDecryptFailed, reason, plain.status().message());
  replay_.Record(h.sender, h.sequence);
  opened.payload = std::move(plain).value();
  return opened;
}

}  // namespace ruvector_dag::sync
