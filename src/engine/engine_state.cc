// Engine state image: "RVSE" magic, version, payload length, payload,
// CRC-32C of the payload. Layout in docs/engine.md ("State image").
#include <algorithm>
#include <cmath>
#include <string>

#include "ruvector_dag/engine.h"
#include "sona/internal/binary_io.h"

namespace ruvector_dag {
namespace {

constexpr uint32_t kStateMagic = 0x45535652u;  // "RVSE"
constexpr uint32_t kStateVersion = 4;
// Version 3 images hold value models whose arm heads predicted latency
// outright (version 4: an offset from the default's prediction). Such an
// image is read whole, but its models (and the error measured of them)
// start afresh: bandits, deployments, priors and embeddings are kept.
constexpr uint32_t kAbsoluteHeadsVersion = 3;
constexpr size_t kHeaderSize = 4 + 4 + 8;
constexpr size_t kTrailerSize = 4;

void PutEmbedding(std::string* out, const PlanEmbedding& e) {
  for (float v : e) internal::PutF32(out, v);
}

bool ReadEmbedding(internal::ByteReader* r, PlanEmbedding* e) {
  for (float& v : *e) {
    if (!r->F32(&v) || !std::isfinite(v)) return false;
  }
  return true;
}

}  // namespace

std::string Engine::ExportState(uint64_t arm_fingerprint, uint64_t learned_through) const {
  using namespace internal;
  std::string payload;
  const ValueModelOptions& mo = options_.model;
  PutU32(&payload, options_.num_arms);
  PutU32(&payload, static_cast<uint32_t>(mo.hidden));
  PutU32(&payload, mo.max_arms);
  PutU32(&payload, mo.lora_rank);
  // The selector: its lanes (one value model per mechanism), the one in
  // use, whether it is forced, the number of switches.
  PutU32(&payload, static_cast<uint32_t>(lanes_.size()));
  PutU8(&payload, static_cast<uint8_t>(lanes_[active_].mechanism));
  PutU8(&payload, forced_ ? 1 : 0);
  PutU64(&payload, switches_);
  for (const Lane& lane : lanes_) {
    PutU8(&payload, static_cast<uint8_t>(lane.mechanism));
    PutU64(&payload, lane.model.steps());
    PutU8(&payload, lane.model.consolidated() ? 1 : 0);
    const std::vector<float> params = lane.model.SaveState();
    PutU64(&payload, params.size());
    for (float v : params) PutF32(&payload, v);
    PutF64(&payload, lane.error);
    PutU64(&payload, lane.evaluated);
  }
  PutU64(&payload, since_consolidation_);

  // The pattern learner's own image (bandits, owners, time at stake), then
  // what the engine keeps per pattern beside it.
  std::string learner;
  learner_.SaveTo(&learner, arm_fingerprint, learned_through);
  PutU64(&payload, learner.size());
  payload += learner;
  std::vector<uint64_t> keys;
  keys.reserve(models_.size());
  for (const auto& [key, state] : models_) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  PutU64(&payload, keys.size());
  for (uint64_t key : keys) {
    const PatternModel& s = models_.at(key);
    PutU64(&payload, key);
    PutF64(&payload, s.lr_boost);
    PutU8(&payload, s.has_embedding ? 1 : 0);
    PutEmbedding(&payload, s.embedding);
    PutU64(&payload, s.pre_queries);
    PutF64(&payload, s.error_ewma);
    PutU32(&payload, s.error_samples);
    PutF64(&payload, s.tension);
    PutU32(&payload, s.tension_samples);
  }

  const std::vector<ReasoningPattern> bank = bank_.AllPatterns();
  PutU64(&payload, bank.size());
  for (const ReasoningPattern& p : bank) {
    PutU64(&payload, p.key);
    PutEmbedding(&payload, p.embedding);
    PutU32(&payload, p.best_arm);
    PutF64(&payload, p.gain);
    PutF64(&payload, p.quality);
    PutU64(&payload, p.usage);
    PutU8(&payload, p.from_network ? 1 : 0);
  }

  PutU64(&payload, stats_.pre_queries);
  PutU64(&payload, stats_.post_queries);
  PutU64(&payload, stats_.trajectories_learned);
  PutU64(&payload, stats_.deployments);
  PutU64(&payload, stats_.reverts);
  PutF64(&payload, stats_.prediction_mae_ewma);

  std::string out;
  out.reserve(kHeaderSize + payload.size() + kTrailerSize);
  PutU32(&out, kStateMagic);
  PutU32(&out, kStateVersion);
  PutU64(&out, payload.size());
  out += payload;
  PutU32(&out, Crc32c(payload.data(), payload.size()));
  return out;
}

Status Engine::ImportState(std::string_view image, uint64_t arm_fingerprint, uint64_t* learned_through) {
  using internal::ByteReader;
  if (image.size() < kHeaderSize + kTrailerSize) {
    return Status::DataLoss("engine state: " + std::to_string(image.size()) +
                            " bytes is shorter than the header");
  }
  size_t off = 0;
  ByteReader header(image, &off);
  uint32_t magic = 0, version = 0;
  uint64_t length = 0;
  (void)header.U32(&magic);
  (void)header.U32(&version);
  (void)header.U64(&length);
  if (magic != kStateMagic) return Status::DataLoss("engine state: bad magic number (not an engine image)");
  const bool fresh_models = version == kAbsoluteHeadsVersion;
  if (version != kStateVersion && !fresh_models) {
    return Status::DataLoss("engine state: version " + std::to_string(version) + " is not supported (this build reads " +
                            std::to_string(kStateVersion) + ")");
  }
  if (length != image.size() - kHeaderSize - kTrailerSize) {
    return Status::DataLoss("engine state: payload length " + std::to_string(length) + " but " +
                            std::to_string(image.size() - kHeaderSize - kTrailerSize) +
                            " bytes present (truncated or padded)");
  }
  const std::string_view payload = image.substr(kHeaderSize, length);
  size_t crc_off = kHeaderSize + length;
  uint32_t stored_crc = 0;
  ByteReader trailer(image, &crc_off);
  (void)trailer.U32(&stored_crc);
  if (stored_crc != Crc32c(payload.data(), payload.size())) {
    return Status::DataLoss("engine state: checksum mismatch (corrupt image)");
  }

  size_t pos = 0;
  ByteReader r(payload, &pos);
  auto truncated = [&](const char* what) {
    return Status::DataLoss(std::string("engine state: malformed ") + what + " at byte " +
                            std::to_string(kHeaderSize + pos));
  };
  const ValueModelOptions& mo = options_.model;
  uint32_t num_arms, hidden, max_arms, rank, lane_count;
  if (!r.U32(&num_arms) || !r.U32(&hidden) || !r.U32(&max_arms) || !r.U32(&rank) || !r.U32(&lane_count)) {
    return truncated("options");
  }
  if (num_arms != options_.num_arms || hidden != mo.hidden || max_arms != mo.max_arms || rank != mo.lora_rank ||
      lane_count != lanes_.size()) {
    return Status::FailedPrecondition(
        "engine state: made with num_arms=" + std::to_string(num_arms) + ", hidden=" + std::to_string(hidden) +
        ", max_arms=" + std::to_string(max_arms) + ", lora_rank=" + std::to_string(rank) + ", " +
        std::to_string(lane_count) + " mechanism model(s); this engine has num_arms=" +
        std::to_string(options_.num_arms) + ", hidden=" + std::to_string(mo.hidden) + ", max_arms=" +
        std::to_string(mo.max_arms) + ", lora_rank=" + std::to_string(mo.lora_rank) + ", " +
        std::to_string(lanes_.size()));
  }
  uint8_t active_mechanism, forced;
  uint64_t switches;
  if (!r.U8(&active_mechanism) || !r.U8(&forced) || !r.U64(&switches) || forced > 1) return truncated("selector");
  struct LaneImage {
    ValueModel model;
    double error;
    uint64_t evaluated;
  };
  std::vector<LaneImage> lane_images;
  size_t active = lanes_.size();
  for (size_t l = 0; l < lanes_.size(); ++l) {
    uint8_t mechanism, consolidated;
    uint64_t steps, count, evaluated;
    double error;
    if (!r.U8(&mechanism) || !r.U64(&steps) || !r.U8(&consolidated) || !r.U64(&count)) {
      return truncated("model header");
    }
    if (mechanism != static_cast<uint8_t>(lanes_[l].mechanism)) {
      return Status::FailedPrecondition("engine state: its models are pooled by other attention mechanisms");
    }
    if (count != 4 * lanes_[l].model.parameter_count() || consolidated > 1) return truncated("model size");
    std::vector<float> params(count);
    for (float& v : params) {
      if (!r.F32(&v)) return truncated("model parameters");
    }
    RUVECTOR_ASSIGN_OR_RETURN(ValueModel model, ValueModel::Create(mo));
    RUVECTOR_RETURN_IF_ERROR(model.RestoreState(params, steps, consolidated == 1));
    if (!r.F64(&error) || !r.U64(&evaluated) || !(error >= 0.0 && std::isfinite(error))) {
      return truncated("held-out error");
    }
    if (fresh_models) {
      RUVECTOR_ASSIGN_OR_RETURN(model, ValueModel::Create(mo));
      error = 0.0;
      evaluated = 0;
    }
    if (mechanism == active_mechanism) active = l;
    lane_images.push_back({std::move(model), error, evaluated});
  }
  if (active == lanes_.size()) return truncated("mechanism in use");
  uint64_t since_consolidation;
  if (!r.U64(&since_consolidation)) return truncated("model counters");

  uint64_t learner_len;
  if (!r.U64(&learner_len) || learner_len > r.remaining()) return truncated("pattern learner");
  PatternLearner learner;
  learner.Reset(options_.num_arms, options_.bandit);
  uint64_t through = 0;
  Status ls = learner.LoadFrom(payload.substr(pos, learner_len), arm_fingerprint, options_.max_patterns, &through);
  if (!ls.ok()) {
    return ls.code() == StatusCode::kFailedPrecondition ? Status::FailedPrecondition("engine state: " + ls.message())
                                                        : Status::DataLoss("engine state: " + ls.message());
  }
  pos += learner_len;
  uint64_t pattern_count;
  if (!r.U64(&pattern_count)) return truncated("pattern count");
  if (pattern_count > learner.patterns()) return truncated("pattern count");
  std::unordered_map<uint64_t, PatternModel> models;
  models.reserve(pattern_count);
  uint64_t prev_key = 0;
  for (uint64_t i = 0; i < pattern_count; ++i) {
    uint64_t key, pre_queries;
    double boost, error_ewma, tension;
    uint32_t error_samples, tension_samples;
    uint8_t has_embedding;
    PlanEmbedding e;
    if (!r.U64(&key) || !r.F64(&boost) || !r.U8(&has_embedding) || !ReadEmbedding(&r, &e) ||
        !r.U64(&pre_queries) || !r.F64(&error_ewma) || !r.U32(&error_samples) || !r.F64(&tension) ||
        !r.U32(&tension_samples)) {
      return truncated("pattern");
    }
    if ((i > 0 && key <= prev_key) || !(boost >= 1.0 && boost <= 10.0) || has_embedding > 1 ||
        learner.Bandit(key) == nullptr || !(error_ewma >= 0.0 && std::isfinite(error_ewma)) ||
        !(tension >= 0.0 && tension <= 1.0)) {
      return truncated("pattern fields");
    }
    prev_key = key;
    PatternModel s;
    s.lr_boost = boost;
    s.has_embedding = has_embedding == 1;
    s.embedding = e;
    s.pre_queries = pre_queries;
    s.error_ewma = fresh_models ? 0.0 : error_ewma;
    s.error_samples = fresh_models ? 0 : error_samples;
    s.tension = tension;
    s.tension_samples = tension_samples;
    models.emplace(key, s);
  }

  uint64_t bank_count;
  if (!r.U64(&bank_count)) return truncated("bank count");
  RUVECTOR_ASSIGN_OR_RETURN(ReasoningBank bank, ReasoningBank::Create(options_.bank));
  for (uint64_t i = 0; i < bank_count; ++i) {
    ReasoningPattern p;
    uint8_t net;
    if (!r.U64(&p.key) || !ReadEmbedding(&r, &p.embedding) || !r.U32(&p.best_arm) ||
        !r.F64(&p.gain) || !r.F64(&p.quality) || !r.U64(&p.usage) || !r.U8(&net) || net > 1) {
      return truncated("bank pattern");
    }
    p.from_network = net == 1;
    Status st = bank.Upsert(p);
    if (!st.ok()) return Status::DataLoss("engine state: " + st.message());
  }
  bank.MaybeRecluster();

  EngineStats stats;
  if (!r.U64(&stats.pre_queries) || !r.U64(&stats.post_queries) ||
      !r.U64(&stats.trajectories_learned) || !r.U64(&stats.deployments) ||
      !r.U64(&stats.reverts) || !r.F64(&stats.prediction_mae_ewma)) {
    return truncated("statistics");
  }
  if (r.remaining() != 0) return truncated("trailing bytes");

  // Everything parsed and validated: replace the state.
  for (size_t l = 0; l < lanes_.size(); ++l) {
    Lane& lane = lanes_[l];
    lane.model = std::move(lane_images[l].model);
    lane.error = lane_images[l].error;
    lane.evaluated = lane_images[l].evaluated;
    lane.replay.clear();
    lane.replay_next = 0;
    lane.arm_samples.fill(0);
  }
  active_ = active;
  forced_ = forced == 1;
  switches_ = switches;
  if (learned_through != nullptr) *learned_through = through;
  since_consolidation_ = since_consolidation;
  learner_ = std::move(learner);
  models_ = std::move(models);
  bank_ = std::move(bank);
  stats_ = stats;
  return Status::Ok();
}

}  // namespace ruvector_dag
