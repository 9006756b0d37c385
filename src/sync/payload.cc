// Pattern proposals and votes: encoding, decoding and validation.
#include <algorithm>
#include <cmath>

#include "ruvector_dag/sync.h"
#include "sync/internal/wire.h"

namespace ruvector_dag::sync {
namespace {

constexpr uint8_t kProposalFormat = 1;
constexpr uint8_t kVoteFormat = 1;
constexpr uint8_t kHeartbeatFormat = 1;

Status ValidateArm(std::string_view arm) {
  if (arm.empty() || arm.size() > kMaxArmNameBytes) {
    return Status::InvalidArgument("arm name must be 1.." + std::to_string(kMaxArmNameBytes) + " bytes, got " +
                                   std::to_string(arm.size()));
  }
  for (char c : arm) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == ':' || c == '=' || c == '-';
    if (!ok) return Status::InvalidArgument("arm name may hold only letters, digits and _.:=-");
  }
  return Status::Ok();
}

}  // namespace

Bytes EncodeProposal(const PatternProposal& p) {
  Bytes out;
  internal::Writer w(&out);
  w.U8(kProposalFormat);
  w.U64(p.fingerprint);
  w.U16(static_cast<uint16_t>(std::min(p.embedding.size(), size_t{0xffff})));
  for (size_t i = 0; i < p.embedding.size() && i < 0xffff; ++i) w.F32(p.embedding[i]);
  w.Str(p.arm.size() > 0xffff ? std::string_view(p.arm).substr(0, 0xffff) : std::string_view(p.arm));
  w.F64(p.noisy_gain);
  w.F64(p.noisy_samples);
  w.U8(static_cast<uint8_t>(p.privacy.mechanism));
  w.F64(p.privacy.epsilon);
  w.F64(p.privacy.delta);
  w.F64(p.gain_sensitivity);
  return out;
}

Result<PatternProposal> DecodeProposal(ByteView bytes) {
  internal::Reader r(bytes, "pattern proposal");
  PatternProposal p;
  uint8_t format = 0, mechanism = 0;
  uint16_t dims = 0;
  r.U8(&format, "format");
  r.U64(&p.fingerprint, "fingerprint");
  r.U16(&dims, "embedding size");
  RUVECTOR_RETURN_IF_ERROR(r.status());
  if (format != kProposalFormat) {
    return Status::InvalidArgument("pattern proposal: unsupported format " + std::to_string(format));
  }
  if (dims > kMaxEmbeddingDims) {
    return Status::InvalidArgument("pattern proposal: embedding of " + std::to_string(dims) + " dimensions, at most " +
                                   std::to_string(kMaxEmbeddingDims));
  }
  p.embedding.resize(dims);
  for (auto& v : p.embedding) r.F32(&v, "embedding");
  r.Str(&p.arm, kMaxArmNameBytes, "arm");
  r.F64(&p.noisy_gain, "gain");
  r.F64(&p.noisy_samples, "samples");
  r.U8(&mechanism, "noise mechanism");
  r.F64(&p.privacy.epsilon, "epsilon");
  r.F64(&p.privacy.delta, "delta");
  r.F64(&p.gain_sensitivity, "gain sensitivity");
  if (!r.End()) return r.status();
  for (size_t i = 0; i < p.embedding.size(); ++i) {
    if (!std::isfinite(p.embedding[i])) {
      return Status::InvalidArgument("pattern proposal: embedding[" + std::to_string(i) + "] is not finite");
    }
  }
  if (Status s = ValidateArm(p.arm); !s.ok()) return s.WithContext("pattern proposal");
  if (!std::isfinite(p.noisy_gain) || !std::isfinite(p.noisy_samples) || p.noisy_samples < 0) {
    return Status::InvalidArgument("pattern proposal: gain and samples must be finite, samples >= 0");
  }
  if (!std::isfinite(p.gain_sensitivity) || p.gain_sensitivity <= 0) {
    return Status::InvalidArgument("pattern proposal: gain sensitivity must be positive");
  }
  if (mechanism > static_cast<uint8_t>(NoiseMechanism::kGaussian)) {
    return Status::InvalidArgument("pattern proposal: unknown noise mechanism " + std::to_string(mechanism));
  }
  p.privacy.mechanism = static_cast<NoiseMechanism>(mechanism);
  if (Status s = ValidatePrivacyParams(p.privacy); !s.ok()) return s.WithContext("pattern proposal");
  return p;
}

ProposalId MakeProposalId(const NodeId& proposer, uint64_t fingerprint, std::string_view arm) {
  static constexpr std::string_view kLabel = "ruvector-sync/v1 proposal";
  Bytes b(kLabel.begin(), kLabel.end());
  internal::Writer w(&b);
  w.Raw(proposer.bytes.data(), proposer.bytes.size());
  w.U64(fingerprint);
  w.Str(arm);
  return Sha256(b);
}

Bytes EncodeVote(const Vote& v) {
  Bytes out;
  internal::Writer w(&out);
  w.U8(kVoteFormat);
  w.Raw(v.proposal.data(), v.proposal.size());
  w.Raw(v.proposer.bytes.data(), v.proposer.bytes.size());
  w.U8(static_cast<uint8_t>(v.verdict));
  w.F64(v.local_gain);
  w.U64(v.local_samples);
  return out;
}

Result<Vote> DecodeVote(ByteView bytes) {
  internal::Reader r(bytes, "vote");
  Vote v;
  uint8_t format = 0, verdict = 0;
  r.U8(&format, "format");
  r.Raw(v.proposal.data(), v.proposal.size(), "proposal id");
  r.Raw(v.proposer.bytes.data(), v.proposer.bytes.size(), "proposer");
  r.U8(&verdict, "verdict");
  r.F64(&v.local_gain, "local gain");
  r.U64(&v.local_samples, "local samples");
  if (!r.End()) return r.status();
  if (format != kVoteFormat) return Status::InvalidArgument("vote: unsupported format " + std::to_string(format));
  if (verdict != static_cast<uint8_t>(Verdict::kConfirm) && verdict != static_cast<uint8_t>(Verdict::kRefute)) {
    return Status::InvalidArgument("vote: unknown verdict " + std::to_string(verdict));
  }
  if (!std::isfinite(v.local_gain)) return Status::InvalidArgument("vote: local gain is not finite");
  v.verdict = static_cast<Verdict>(verdict);
  return v;
}

Bytes EncodeHeartbeat() { return Bytes{kHeartbeatFormat}; }

Status DecodeHeartbeat(ByteView bytes) {
  internal::Reader r(bytes, "heartbeat");
  uint8_t format = 0;
  r.U8(&format, "format");
  if (!r.End()) return r.status();
  if (format != kHeartbeatFormat) {
    return Status::InvalidArgument("heartbeat: unsupported format " + std::to_string(format));
  }
  return Status::Ok();
}

Result<Verdict> JudgeProposal(const ValidationPolicy& policy, double local_gain, uint64_t local_samples) {
  if (!(policy.refute_gain < policy.confirm_gain)) {
    return Status::InvalidArgument("validation policy: refute_gain must be below confirm_gain");
  }
  if (!std::isfinite(local_gain)) return Status::InvalidArgument("local gain is not finite");
  if (local_samples < policy.min_samples) {
    return Status::NotFound("not enough evidence yet: " + std::to_string(local_samples) + " of " +
                            std::to_string(policy.min_samples) + " local samples");
  }
  if (local_gain >= policy.confirm_gain) return Verdict::kConfirm;
  if (local_gain <= policy.refute_gain) return Verdict::kRefute;
  return Status::NotFound("not enough evidence yet: local gain between the refute and confirm thresholds");
}

}  // namespace ruvector_dag::sync
