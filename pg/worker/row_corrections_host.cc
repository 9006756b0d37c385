// PG zone (worker only): the row-correction learner's host
// (row_corrections_host.h).
#include "ruvector_dag/dag.h"

#include "shim.h"

#include "guard.h"
#include "planner/corrections.h"
#include "worker/row_corrections.h"
#include "worker/row_corrections_host.h"
#include "worker/pattern_samples.h"

namespace ruvector_pg {
namespace {

/// One trajectory's row counts, as collected (plain data).
struct CollectedSample {
  uint64_t pattern_key = 0;
  uint32_t database_oid = 0;
  bool may_stop_early = false;
  int count = 0;
  RowObservation nodes[kMaxTrajectoryNodes];
  int relation_count = 0;
  uint32_t relations[kMaxTrajectoryRelations] = {0};
};

/// Samples kept per pass (one pass reads up to thousands of trajectories;
/// row counts are measured on a sample of executions anyway).
constexpr int kSamplesPerPass = 128;
CollectedSample g_samples[kSamplesPerPass];
int g_sample_count = 0;

DriftNotice g_drifts[kDriftCapacity];
int g_drift_count = 0;
bool g_reset = false;

RowCorrectionLearner* g_learner = nullptr;  // worker only
uint64_t g_published_generation = 0;

}  // namespace

void CollectRowSample(const TrajectoryRecord& r) {
  if (g_sample_count >= kSamplesPerPass || r.pattern_key == 0 || r.node_count == 0) return;
  // Plans made with the corrections have corrected estimates: learning from
  // them would correct the corrections.
  if ((r.flags & kTrajectoryArmKnown) != 0 && TrajectoryArm(r.flags) == kRowCorrectionsArm) return;
  if ((r.flags & kTrajectoryAdvice) != 0) return;  // pinned advice may hold ROWS items
  CollectedSample& s = g_samples[g_sample_count];
  s.count = 0;
  s.may_stop_early = (r.flags & (kTrajectoryMayStopEarly | kTrajectoryCensored)) != 0;
  const int kept = std::min<int>(r.node_count, kMaxTrajectoryNodes);
  for (int i = 0; i < kept; ++i) {
    if (r.actual_rows[i] < 0.0f) continue;
    // An empty hash table ends a hash join before its outer input is read.
    if (r.node_type[i] == static_cast<uint8_t>(ruvector_dag::OperatorType::kHash) && r.actual_rows[i] == 0.0f) {
      s.may_stop_early = true;
    }
    if (r.relset[i] == 0) continue;
    RowObservation& o = s.nodes[s.count++];
    o.relset = r.relset[i];
    o.relation_count = r.relset_size[i];
    o.estimated_rows = r.estimated_rows[i];
    o.actual_rows = r.actual_rows[i];
  }
  if (s.count == 0) return;
  s.pattern_key = r.pattern_key;
  s.database_oid = r.database_oid;
  s.relation_count = std::min<int>(r.relation_count, kMaxTrajectoryRelations);
  memcpy(s.relations, r.relations, sizeof(s.relations));
  ++g_sample_count;
}

bool RowSamplesFull() { return g_sample_count >= kSamplesPerPass; }

void NoteRowCorrectionDrift(const DriftNotice* notices, int count) {
  for (int i = 0; i < count && g_drift_count < kDriftCapacity; ++i) g_drifts[g_drift_count++] = notices[i];
}

void ResetRowCorrections() { g_reset = true; }

void LearnRowCorrections(int64_t now_us) {
  std::vector<PatternCorrections>* published = nullptr;
  bool publish = false;
  PlainStatus st = RunCpp("learning row corrections", [&]() {
    if (g_learner == nullptr || g_reset) {
      delete g_learner;
      g_learner = nullptr;
      RowCorrectionLearner::Options options;
      options.max_patterns = kMaxCorrectedPatterns;
      g_learner = new RowCorrectionLearner(options);
      publish = g_reset;
      g_reset = false;
    }
    ForgetDrifted(g_drifts, g_drift_count, g_learner);
    ObserveCollected<RowSample>(g_samples, g_sample_count, now_us, g_learner);
    if (publish || g_learner->generation() != g_published_generation) {
      published = new std::vector<PatternCorrections>(g_learner->Corrections());
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
  if (publish && published != nullptr) HandToPg(published, &PublishCorrections);
}

}  // namespace ruvector_pg
