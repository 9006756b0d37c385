// PG zone (worker only): the hint-arm learner's host (hint_arms_host.h).
#include "ruvector_dag/dag.h"

#include "shim.h"

#include "extension.h"
#include "guard.h"
#include "planner/learned_hints.h"
#include "worker/hint_arms.h"
#include "worker/hint_arms_host.h"
#include "worker/pattern_samples.h"

namespace ruvector_pg {
namespace {

/// One execution's plan with row counts, as collected (plain data).
struct CollectedPlan {
  uint64_t pattern_key = 0;
  uint32_t database_oid = 0;
  bool may_stop_early = false;
  int count = 0;
  HintNode nodes[kMaxTrajectoryNodes];
  int relation_count = 0;
  uint32_t relations[kMaxTrajectoryRelations] = {0};
};

/// Samples kept per pass (as the row corrections keep).
constexpr int kSamplesPerPass = 128;
CollectedPlan g_samples[kSamplesPerPass];
int g_sample_count = 0;

DriftNotice g_drifts[kDriftCapacity];
int g_drift_count = 0;
bool g_reset = false;

HintArmLearner* g_learner = nullptr;  // worker only
uint64_t g_published_generation = 0;

/// When each pattern's hint last changed, direct-mapped by pattern key: a
/// pattern whose slot another pattern took later loses its mark (its older
/// runs are then learned; the bandit was reset at the change anyway).
constexpr uint32_t kChangeSlots = 1024;
struct HintChange {
  uint64_t pattern_key = 0;
  int64_t at_us = 0;
};
HintChange g_changes[kChangeSlots];

uint32_t ChangeSlot(uint64_t key) { return static_cast<uint32_t>((key ^ (key >> 29)) * 0x9e3779b1u) % kChangeSlots; }

}  // namespace

bool WantHintSample(const TrajectoryRecord& r) {
  if (!g_hint_arms_enabled || g_sample_count >= kSamplesPerPass || r.pattern_key == 0 || r.node_count == 0) return false;
  if ((r.flags & kTrajectoryArmKnown) == 0 || (r.flags & (kTrajectoryAdvice | kTrajectoryCensored)) != 0) return false;
  if ((r.flags & kTrajectoryRowsMeasured) == 0) return false;
  // The hint is for PostgreSQL's own plan of the pattern.
  return TrajectoryArm(r.flags) == 0 || (r.flags & kTrajectorySamePlan) != 0;
}

void CollectHintSample(const TrajectoryRecord& r) {
  if (!WantHintSample(r)) return;
  CollectedPlan& s = g_samples[g_sample_count];
  s.may_stop_early = (r.flags & kTrajectoryMayStopEarly) != 0;
  s.count = std::min<int>(r.node_count, kMaxTrajectoryNodes);
  for (int i = 0; i < s.count; ++i) {
    HintNode& n = s.nodes[i];
    n.type = r.node_type[i];
    n.parent = static_cast<int16_t>(static_cast<int>(r.parent_plus_one[i]) - 1);
    n.relset = r.relset[i];
    n.relation_count = r.relset_size[i];
    n.estimated_rows = r.estimated_rows[i];
    n.actual_rows = r.actual_rows[i];
    // An empty hash table ends a hash join before its outer input is read.
    if (n.type == static_cast<uint8_t>(ruvector_dag::OperatorType::kHash) && n.actual_rows == 0.0f) {
      s.may_stop_early = true;
    }
  }
  s.pattern_key = r.pattern_key;
  s.database_oid = r.database_oid;
  s.relation_count = std::min<int>(r.relation_count, kMaxTrajectoryRelations);
  memcpy(s.relations, r.relations, sizeof(s.relations));
  ++g_sample_count;
}

bool HintRunIsStale(const TrajectoryRecord& r) {
  if ((r.flags & kTrajectoryArmKnown) == 0 || !IsHintArm(TrajectoryArm(r.flags))) return false;
  const HintChange& c = g_changes[ChangeSlot(r.pattern_key)];
  return c.pattern_key == r.pattern_key && r.recorded_at_us < c.at_us;
}

void NoteHintArmDrift(const DriftNotice* notices, int count) {
  for (int i = 0; i < count && g_drift_count < kDriftCapacity; ++i) g_drifts[g_drift_count++] = notices[i];
}

void ResetHintArms() { g_reset = true; }

namespace {

/// Publishes `n` hints (palloc'd copies: nothing here may throw).
void Publish(const LearnedHint* hints, size_t n) {
  auto* scratch = static_cast<PublishedHint*>(palloc(sizeof(PublishedHint) * kMaxHintedPatterns));
  PublishLearnedHints(hints, n, scratch);
  pfree(scratch);
}

/// Marks the change of `key`'s hint and makes the bandit forget the arm.
Status NoteChanged(uint64_t key, int64_t now_us, ruvector_dag::Engine* engine,
                   std::vector<ruvector_dag::PatternDecision>* updates) {
  g_changes[ChangeSlot(key)] = HintChange{key, now_us};
  if (engine == nullptr) return Status::Ok();
  const Status forgot = engine->patterns().ForgetArm(key, kFixWorstJoinArm, updates);
  return forgot.ok() || forgot.code() == StatusCode::kNotFound ? Status::Ok() : forgot;
}

}  // namespace

void LearnHintArms(int64_t now_us, ruvector_dag::Engine* engine, std::vector<ruvector_dag::PatternDecision>* updates) {
  if (!g_hint_arms_enabled) {
    g_sample_count = 0;
    g_drift_count = 0;
    if (g_learner == nullptr) return;  // off already
    // Turned off: every hint is forgotten (with the arm's measurements of
    // it) and the empty table published once.
    PlainStatus off = RunCpp("turning hint arms off", [&]() {
      for (const LearnedHint& h : g_learner->Hints()) RUVECTOR_RETURN_IF_ERROR(NoteChanged(h.pattern_key, now_us, engine, updates));
      delete g_learner;
      g_learner = nullptr;
      return Status::Ok();
    });
    if (!off.ok()) ReportStatus(off, LOG);
    Publish(nullptr, 0);
    return;
  }
  std::vector<LearnedHint>* published = nullptr;
  bool publish = false;
  PlainStatus st = RunCpp("learning hint arms", [&]() {
    if (g_learner == nullptr || g_reset) {
      delete g_learner;
      g_learner = nullptr;
      HintArmLearner::Options options;
      options.max_patterns = kMaxHintedPatterns;
      g_learner = new HintArmLearner(options);
      publish = g_reset;
      g_reset = false;
    }
    ForgetDrifted(g_drifts, g_drift_count, g_learner);
    ObserveCollected<HintSample>(g_samples, g_sample_count, now_us, g_learner);
    // A new hint is another arm for the pattern's bandit: what it measured
    // of the previous one (or of the empty arm: PostgreSQL's plan) is gone.
    for (uint64_t key : g_learner->TakeChanged()) RUVECTOR_RETURN_IF_ERROR(NoteChanged(key, now_us, engine, updates));
    if (publish || g_learner->generation() != g_published_generation) {
      published = new std::vector<LearnedHint>(g_learner->Hints());
      g_published_generation = g_learner->generation();
      publish = true;
    }
    return Status::Ok();
  });
  g_sample_count = 0;
  g_drift_count = 0;
  if (!st.ok()) {
    ReportStatus(st, LOG);
    delete published;
    return;
  }
  if (publish && published != nullptr) HandToPg(published, &Publish);
}

}  // namespace ruvector_pg
