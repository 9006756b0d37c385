// PG zone: the background worker's learning pass. Each pass copies new
// trajectories out of the ring, runs the library's Engine on them (value
// model, bandits, admission, drift scope, re-validation), runs the healing
// cycle, and publishes decisions, events and health into shared memory; the
// learner file persists what the engine learned.
#include "planner/dag_bridge.h"
#include "worker/healing_host.h"
#include "worker/learner.h"
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "shim.h"

#include "extension.h"
#include "guard.h"
#include "planner/steering.h"
#include "state/steer_shmem.h"
#include "worker/explorer.h"
#include "worker/learn_pass.h"
#include "worker/hint_arms_host.h"
#include "worker/row_corrections_host.h"
#include "worker/sync_pass.h"

namespace ruvector_pg {

// --- the learner's step (background worker) ----------------------------------------------

namespace {

/// What the healing detectors see of one sampled execution: its served
/// latency (0 = not a served run: exploration, baseline, timeout) or its
/// largest |ln q-error| of the sampled row counts.
struct HealInput {
  uint64_t seq = 0;
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
  double latency_ms = 0.0;
  double log_error = 0.0;
  bool has_rows = false;
};

/// A run the pass's sample kept: the engine's input and its healing input.
struct KeptRun {
  uint64_t seq = 0;
  uint32_t group = 0;
  bool learn = false;  // the arm is known: the engine learns from it
  LearnInput in;
  HealInput heal;
};

struct LearnScratch {
  std::vector<LearnInput> batch;  // the sampled runs, oldest first, with the totals of their groups
  uint64_t runs_learned = 0;      // runs the batch stands for
  std::vector<HealInput> heal;    // the sampled runs (served latency, estimate error), oldest first
  std::vector<PlanSample> plans;  // the latest plan of each pattern seen in this pass
  std::vector<PlanSample> default_plans;  // a default plan of patterns seen in this pass (pattern sync)
  std::vector<ruvector_dag::QueryDag> dags;  // plans as DAGs (for the engine)
  std::vector<DriftScope> drifts;
  ruvector_dag::HostLearnOutput out;  // decisions, events, evictions of the pass
  HealingCycleOutput cycle;
  ModelStatus model;        // the value model after this pass (when model_valid)
  bool model_valid = false;
  /// Runs for the split test (ConstantGroups): completed default-plan runs
  /// with their constants, and runs of patterns that are constants' already.
  struct ConstantRun {
    LearnInput run;
    uint64_t constants_hash = 0;
    uint32_t param_bucket = 0;
    bool by_constants = false;
  };
  std::vector<ConstantRun> constant_runs;
};

/// Runs of one (pattern, arm, kind of run) a pass feeds the bandits, the
/// value model and the healing detectors, and sampled row counts of one
/// pattern it feeds the estimate-error detector: a uniform sample of each
/// (RunSample); the totals (run counts, time at stake) count every run.
constexpr uint32_t kRunsPerGroup = 16;
/// Seed of the samples (mixed with the pass's first sequence number).
constexpr uint64_t kSampleSeed = 0x52564447'53414D50ull;
/// Worker-lifetime buffers of the samples (their Reset allocates only when
/// a pass has more records than any before).
RunSample* g_run_sample = nullptr;
RunSample* g_rows_sample = nullptr;
std::vector<KeptRun>* g_kept = nullptr;
std::vector<HealInput>* g_kept_rows = nullptr;

/// The learning loop (worker only): created with the arm table, recreated
/// when the arms change or learning is reset.
ruvector_dag::Engine* g_engine = nullptr;
ServerHealing* g_healing = nullptr;  // worker only; acts on g_engine's patterns
/// Distinct patterns whose plan is embedded per learning pass.
constexpr size_t kPlansPerPass = 64;
int64_t g_last_heal_us = 0;
uint64_t g_healing_requests_seen = 0;
/// The healing cycle runs at most this often (and at once when asked).
constexpr int64_t kHealIntervalUs = 1000000;
uint64_t g_learner_arm_generation = 0;
uint64_t g_learner_learn_generation = 0;
uint64_t g_drift_seen_seq = 0;  // drift notices up to this seq were applied
double g_filter_min_ms = -1.0;  // ruvector.dag_exploration_min_ms at the last filter rebuild check
/// Per pattern, its default plan's runs grouped by constants (the split
/// test), and the patterns that are a statement's constants already (never
/// split again). Worker only, C++ zone; forgotten when learning restarts;
/// bounded (cleared when they outgrow kMaxSplitTracked).
/// A pattern's latest runs per constants (each group's ring), replayed as
/// runs of the constants' patterns when the pattern is split: what was
/// measured on those constants before the split is not measured again.
constexpr int kReplayRuns = 16;
struct SplitTrack {
  ConstantGroups groups;
  LearnInput latest;  // the pattern's latest run (owner, relations, query id)
  uint32_t param_bucket = 0;
  GroupRun runs[ConstantGroups::kMaxGroups][kReplayRuns];
  int next[ConstantGroups::kMaxGroups] = {0};
  int count[ConstantGroups::kMaxGroups] = {0};
};
/// ArmEffectsDiffer (learner.h) on a track's kept runs, each constants'
/// default reference the geometric mean of its default-plan runs (two or
/// more), arms whose content changes over time skipped.
bool TrackArmEffectsDiffer(const SplitTrack& t) {
  double reference[ConstantGroups::kMaxGroups] = {0.0};
  for (int g = 0; g < t.groups.count; ++g) {
    if (t.groups.n[g] >= 2.0) reference[g] = std::exp(t.groups.sum[g] / t.groups.n[g]);
  }
  return ArmEffectsDiffer(&t.runs[0][0], t.groups.count, kReplayRuns, t.count, reference,
                          [](int arm) { return ArmContentIsLocal(arm); });
}
std::unordered_map<uint64_t, SplitTrack>* g_split_tracks = nullptr;
std::unordered_set<uint64_t>* g_split_patterns = nullptr;     // split (published so)
std::unordered_set<uint64_t>* g_constant_patterns = nullptr;  // patterns of constants
constexpr size_t kMaxSplitTracked = 4096;

}  // namespace

namespace {

/// Writes a healing cycle's findings, repairs and health into shared memory
/// (caller holds the steering lock exclusively).
void PublishHealing(const HealingCycleOutput& c, int64_t now) {
  for (const HealingFinding& f : c.findings) {
    HealthFindingEntry e;
    e.at_us = now;
    e.pattern_key = f.pattern_key;
    e.query_id = f.query_id;
    CopyBounded(e.kind, sizeof(e.kind), f.kind.c_str());
    CopyBounded(e.source, sizeof(e.source), f.source.c_str());
    e.value = f.value;
    e.expected = f.expected;
    e.score = f.score;
    AppendFinding(g_steer, e);
  }
  for (const HealingRepairOut& r : c.repairs) {
    HealthRepairEntry e;
    e.at_us = now;
    e.pattern_key = r.pattern_key;
    CopyBounded(e.origin, sizeof(e.origin), "worker");
    CopyBounded(e.strategy, sizeof(e.strategy), r.strategy.c_str());
    CopyBounded(e.action, sizeof(e.action), r.action.c_str());
    CopyBounded(e.outcome, sizeof(e.outcome), r.outcome.c_str());
    CopyBounded(e.rollback, sizeof(e.rollback), r.rollback.c_str());
    CopyBounded(e.detail, sizeof(e.detail), r.detail.c_str());
    e.duration_us = r.duration_us;
    AppendRepair(g_steer, e);
  }
  HealthSummary& h = g_steer->health;
  h.score = c.health.score;
  h.anomaly_component = c.health.anomaly_component;
  h.repair_component = c.health.repair_component;
  h.index_component = c.health.index_component;
  h.tension_component = c.health.tension_component;
  h.indexes = c.health.indexes;
  h.tension_patterns = c.health.patterns;
  h.repairs_succeeded = c.health.repairs_succeeded;
  h.repairs_failed = c.health.repairs_failed;
  h.detectors = c.health.detectors;
  h.detectors_flagged = c.health.detectors_flagged;
  h.patterns_monitored = c.monitored;
  h.cycles = c.cycle;
  h.unrepaired += c.unrepaired;
  h.last_cycle_us = now;
}

}  // namespace

namespace {

constexpr const char* kLearnerFile = "ruvector_dag.learner";
bool g_publish_all = false;  // publish every decision after loading the learner file
std::vector<uint64_t>* g_refresh_keys = nullptr;  // RefreshDecisions, for the next pass

/// Identifies the arm table (names and settings); caller holds the lock.
uint64_t ArmFingerprintLocked() {
  uint64_t h = g_steer->arm_count;
  for (uint32_t i = 0; i < g_steer->arm_count; ++i) {
    h = ruvector_dag::Hash64(g_steer->arms[i].name, h);
    h = ruvector_dag::Hash64(g_steer->arms[i].settings, h);
  }
  return h;
}

/// A fresh engine for `arm_count` arms with the server's settings (the
/// healing cycle, which acts on the engine's patterns, starts over too).
Status MakeEngine(uint32_t arm_count) {
  delete g_healing;
  g_healing = nullptr;
  delete g_engine;
  g_engine = nullptr;
  RUVECTOR_ASSIGN_OR_RETURN(std::unique_ptr<ruvector_dag::Engine> engine,
                            ruvector_dag::Engine::Create(ServerEngineOptions(
                                arm_count, static_cast<size_t>(g_sona_pattern_clusters), g_learning_rate,
                                g_sona_ewc_lambda, static_cast<uint32_t>(g_sona_micro_lora_rank))));
  g_engine = engine.release();
  return Status::Ok();
}

/// Worker start: the engine image saved by the last run (value models,
/// selector, bandits, bank), when it was learned with the same arm table and
/// model settings; else learning restarts from the trajectories.
void LoadLearnerFile() {
  StringInfoData buf;
  bool missing = false;
  if (!ReadWholeFile(kLearnerFile, MaxAllocSize / 2, &buf, &missing)) return;
  if (buf.len >= 8 && memcmp(buf.data, "RVDGLRN1", 8) == 0) {
    ereport(LOG, (errmsg("ruvector_dag worker: not using \"%s\": it was written by an earlier version (bandits "
                         "only, no value model); learning again from the recorded trajectories",
                         kLearnerFile)));
    pfree(buf.data);
    return;
  }
  LWLockAcquire(g_steer_lock, LW_SHARED);
  const uint32_t arm_count = g_steer->arm_count;
  const uint64_t fingerprint = ArmFingerprintLocked();
  const uint64_t arm_gen = g_steer->arm_generation, learn_gen = g_steer->learn_generation;
  LWLockRelease(g_steer_lock);
  uint64_t through = 0;
  size_t models = 0;
  char in_use[kMechanismNameLen] = {0};
  PlainStatus st = RunCpp("loading the learner file", [&]() {
    RUVECTOR_RETURN_IF_ERROR(MakeEngine(arm_count));
    RUVECTOR_RETURN_IF_ERROR(
        g_engine->ImportState(std::string_view(buf.data, static_cast<size_t>(buf.len)), fingerprint, &through));
    models = g_engine->Mechanisms().lanes.size();
    CopyBounded(in_use, sizeof(in_use), std::string(ruvector_dag::AttentionMechanismName(g_engine->mechanism())).c_str());
    return Status::Ok();
  });
  pfree(buf.data);
  if (!st.ok()) {
    ereport(LOG, (errmsg("ruvector_dag worker: not using \"%s\": %s; learning again from the recorded trajectories",
                         kLearnerFile, st.message)));
    return;
  }
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  g_steer->learned_through_seq = through;
  LWLockRelease(g_steer_lock);
  g_learner_arm_generation = arm_gen;
  g_learner_learn_generation = learn_gen;
  g_publish_all = true;
  ereport(LOG, (errmsg("ruvector_dag worker: loaded %zu learned patterns and %zu value models (%s in use) from \"%s\"",
                       g_engine->patterns().patterns(), models, in_use, kLearnerFile)));
}

}  // namespace

ruvector_dag::Engine* LearnerEngine() { return g_engine; }

bool PersistLearner(int elevel) {
  if (g_engine == nullptr || g_steer == nullptr) return false;
  LWLockAcquire(g_steer_lock, LW_SHARED);
  const uint64_t fingerprint = ArmFingerprintLocked();
  const uint64_t through = g_steer->learned_through_seq;
  LWLockRelease(g_steer_lock);
  std::string* image = NewOwnedByContext<std::string>(CurrentMemoryContext);
  PlainStatus st = RunCpp("saving the learner", [&]() {
    *image = g_engine->ExportState(fingerprint, through);
    return Status::Ok();
  });
  if (!st.ok()) {
    ereport(elevel, (errmsg("ruvector_dag: could not save the learner: %s", st.message)));
    return false;
  }
  return WriteFileDurably(kLearnerFile, image->data(), image->size(), elevel);
}

namespace {

/// Under the steering lock: the arm table's generation (a change restarts
/// learning) and the drift notices since the last pass (the oldest are lost
/// when more than kDriftCapacity arrived in one pass: counted, never widened).
struct PassStart {
  uint32_t arm_count = 0;
  uint64_t arm_gen = 0;
  uint64_t learn_gen = 0;
  bool restart = false;
  uint64_t from = 0;  // first trajectory sequence number to learn
  DriftNotice notices[kDriftCapacity];
  int notice_count = 0;
  uint8_t attention_request = kAttentionRequestNone;
};

void StartPass(PassStart* p) {
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  g_steer->worker_procno = MyProc->pgprocno;
  p->arm_count = g_steer->arm_count;
  p->attention_request = g_steer->attention_request;
  p->arm_gen = g_steer->arm_generation;
  p->learn_gen = g_steer->learn_generation;
  const uint64_t drift_next = g_steer->drift_next_seq;
  if (g_drift_seen_seq + 1 > drift_next) g_drift_seen_seq = drift_next - 1;  // shared memory was reset
  if (drift_next - 1 - g_drift_seen_seq > static_cast<uint64_t>(kDriftCapacity)) {
    g_steer->counters.drift_notices_lost += drift_next - 1 - g_drift_seen_seq - kDriftCapacity;
    g_drift_seen_seq = drift_next - 1 - kDriftCapacity;
  }
  for (uint64_t seq = g_drift_seen_seq + 1; seq < drift_next; ++seq) {
    const DriftNotice& n = g_steer->drift[(seq - 1) % kDriftCapacity];
    if (n.seq == seq) p->notices[p->notice_count++] = n;
  }
  g_drift_seen_seq = drift_next - 1;
  p->restart = g_engine == nullptr || p->arm_gen != g_learner_arm_generation ||
               p->learn_gen != g_learner_learn_generation;
  if (p->restart) {
    ClearDecisions(g_steer);
    ClearVectorTable(&g_steer->vector);
    if (g_learner_arm_generation != 0 && p->arm_gen != g_learner_arm_generation) {
      LearnEvent ev;
      ev.type = LearnEventType::kArmsChanged;
      ev.at_us = NowUnixMicros();
      AppendEvent(g_steer, ev);
    }
    p->notice_count = 0;
  }
  g_steer->counters.drift_notifications += static_cast<uint64_t>(p->notice_count);
  p->from = g_steer->learned_through_seq + 1;
  LWLockRelease(g_steer_lock);
}

/// The sample group of a record: its arm (or unknown) and kind of run.
uint32_t RunGroup(uint16_t flags) {
  if ((flags & kTrajectoryArmKnown) == 0) return 0xFFFF;
  return static_cast<uint32_t>(TrajectoryArm(flags)) | ((flags & kTrajectoryCensored) != 0 ? 0x100u : 0u) |
         ((flags & kTrajectorySamePlan) != 0 ? 0x200u : 0u);
}

/// Fills a pass's plan sample from a fully copied record.
void FillPlanSample(const TrajectoryRecord& r, PlanSample* p) {
  p->pattern_key = r.pattern_key;
  p->query_id = r.query_id;
  p->database_oid = r.database_oid;
  p->role_oid = r.role_oid;
  p->count = std::min<int>(r.node_count, kMaxTrajectoryNodes);
  memcpy(p->type, r.node_type, sizeof(p->type));
  memcpy(p->estimated_rows, r.estimated_rows, sizeof(p->estimated_rows));
  memcpy(p->actual_rows, r.actual_rows, sizeof(p->actual_rows));
  memcpy(p->parent_plus_one, r.parent_plus_one, sizeof(p->parent_plus_one));
}

/// The largest |ln q-error| of a record's measured row counts; false when
/// no node was measured.
bool LogEstimateError(const TrajectoryRecord& r, double* log_error) {
  bool any = false;
  const int kept = std::min<int>(r.node_count, kMaxTrajectoryNodes);
  for (int i = 0; i < kept; ++i) {
    if (r.actual_rows[i] < 0.0f) continue;
    const double e = std::fabs(std::log((static_cast<double>(r.actual_rows[i]) + 1.0) /
                                        (static_cast<double>(r.estimated_rows[i]) + 1.0)));
    if (!any || e > *log_error) *log_error = e;
    any = true;
  }
  return any;
}

/// Copies the new trajectories out of the ring (oldest first). Every record's
/// header is read (keys, latency, flags, owner, relations) and offered to the
/// pass's sample; the per-node arrays are copied only where they are used:
/// the latest plan of each pattern, a default plan per pattern for pattern
/// sync, and sampled executions with measured row counts (row corrections,
/// the estimate-error detector). Fills the batch (sampled runs with their
/// groups' totals) and the healing inputs; returns how many records were
/// read and sets *last to the last sequence number consumed.
int CopyTrajectories(int max_records, uint64_t from, LearnScratch* scratch, uint64_t* last, uint64_t* end_out) {
  SharedState* s = State();
  int n = 0;
  *last = from - 1;
  // Shared: backends keep appending (lock-free ring) while the learner
  // copies; a record whose writer has not published it yet ends this pass.
  LWLockAcquire(StateLock(), LW_SHARED);
  uint64_t first = std::max<uint64_t>(from, RingFirstSeq(s));
  uint64_t end = RingNextSeq(s);
  *end_out = end;
  const size_t records = static_cast<size_t>(std::min<uint64_t>(end - std::min(first, end), max_records));
  PG_TRY();
  {
    PlainStatus st = RunCpp("sampling trajectories", [&]() {
      if (g_kept_rows == nullptr) {
        if (g_run_sample == nullptr) g_run_sample = new RunSample(kRunsPerGroup);
        if (g_rows_sample == nullptr) g_rows_sample = new RunSample(kRunsPerGroup);
        if (g_kept == nullptr) g_kept = new std::vector<KeptRun>();
        g_kept_rows = new std::vector<HealInput>();
      }
      g_run_sample->Reset(records, ruvector_dag::HashCombine(kSampleSeed, first));
      g_rows_sample->Reset(records, ruvector_dag::HashCombine(kSampleSeed, first + 1));
      g_kept->clear();
      g_kept_rows->clear();
      // At most one slot per record: pushing a new slot never allocates.
      g_kept->reserve(records);
      g_kept_rows->reserve(records);
      scratch->plans.reserve(kPlansPerPass);
      scratch->constant_runs.reserve(records);
      if (g_sync_enabled) scratch->default_plans.reserve(kPlansPerPass);
      return Status::Ok();
    });
    ReportStatus(st, ERROR);
  }
  PG_CATCH();
  {
    LWLockRelease(StateLock());
    PG_RE_THROW();
  }
  PG_END_TRY();
  std::vector<KeptRun>& kept = *g_kept;
  std::vector<HealInput>& kept_rows = *g_kept_rows;
  // The latest record of each pattern with a plan: copied after the loop.
  uint64_t latest_plan_seq[kPlansPerPass];
  TrajectoryRecord copy;  // headers
  TrajectoryRecord full;  // whole records
  for (uint64_t seq = first; seq < end && n < max_records; ++seq, ++n) {
    const RingCopy got = CopyRingHeaderAt(s, seq, &copy);
    if (got == RingCopy::kPending) break;
    *last = seq;
    if (got == RingCopy::kGone) continue;
    const TrajectoryRecord* r = &copy;
    const bool has_plan = r->pattern_key != 0 && r->node_count > 0 && (r->flags & kTrajectoryCensored) == 0;
    if (has_plan) {
      size_t i = 0;
      while (i < scratch->plans.size() && scratch->plans[i].pattern_key != r->pattern_key) ++i;
      if (i == scratch->plans.size() && i < kPlansPerPass) {
        scratch->plans.emplace_back();
        scratch->plans.back().pattern_key = r->pattern_key;
      }
      if (i < scratch->plans.size()) latest_plan_seq[i] = seq;
    }
    if ((r->flags & kTrajectoryArmKnown) != 0 && r->pattern_key != 0 &&
        scratch->constant_runs.size() < scratch->constant_runs.capacity()) {
      const bool by_constants = (r->flags & kTrajectoryByConstants) != 0;
      if (by_constants || r->constants_hash != 0) {
        LearnScratch::ConstantRun c;
        c.run.pattern_key = r->pattern_key;
        c.run.query_id = r->query_id;
        c.run.arm = TrajectoryArm(r->flags);
        c.run.latency_ms = r->latency_ms;
        c.run.same_plan = (r->flags & kTrajectorySamePlan) != 0;
        c.run.censored = (r->flags & kTrajectoryCensored) != 0;
        c.run.database_oid = r->database_oid;
        c.run.role_oid = r->role_oid;
        c.run.relation_count = r->relation_count;
        memcpy(c.run.relations.data(), r->relations, sizeof(r->relations));
        c.run.at_us = r->recorded_at_us;
        c.constants_hash = r->constants_hash;
        c.param_bucket = r->param_bucket;
        c.by_constants = by_constants;
        scratch->constant_runs.push_back(c);
      }
    }
    // Pattern sync identifies a pattern by its default plan (the plan of arm
    // 0, or of an arm that produced the same plan): one per pattern and pass.
    bool default_plan = false;
    if (has_plan && (r->flags & kTrajectoryArmKnown) != 0 &&
        (TrajectoryArm(r->flags) == 0 || (r->flags & kTrajectorySamePlan) != 0) &&
        scratch->default_plans.size() < scratch->default_plans.capacity()) {
      default_plan = true;
      for (const PlanSample& q : scratch->default_plans) default_plan = default_plan && q.pattern_key != r->pattern_key;
    }
    // Measured row counts: the row-correction learner's samples and a
    // sample per pattern for the estimate-error detector.
    const bool rows = (r->flags & kTrajectoryRowsMeasured) != 0 && r->node_count > 0;
    const bool row_sample = rows && !RowSamplesFull();
    const bool hint_sample = rows && WantHintSample(*r);
    const RunSample::Offered rows_slot = rows ? g_rows_sample->Offer(r->pattern_key, 0, 0.0) : RunSample::Offered();
    // Slots are handed out in order (a new one is the next index); a
    // replaced slot is overwritten, with nothing when the rows are gone.
    HealInput* row_input = nullptr;
    if (rows_slot.slot >= 0) {
      if (static_cast<size_t>(rows_slot.slot) == kept_rows.size()) kept_rows.emplace_back();
      row_input = &kept_rows[static_cast<size_t>(rows_slot.slot)];
      *row_input = HealInput();
    }
    // (Into its own buffer: a copy that a writer overtook leaves the header intact.)
    if ((default_plan || row_sample || hint_sample || row_input != nullptr) &&
        CopyRingRecordAt(s, seq, &full) == RingCopy::kCopied) {
      if (row_sample) CollectRowSample(full);
      if (hint_sample) CollectHintSample(full);
      if (default_plan) {
        scratch->default_plans.emplace_back();
        FillPlanSample(full, &scratch->default_plans.back());
      }
      if (row_input != nullptr && LogEstimateError(full, &row_input->log_error)) {
        row_input->seq = seq;
        row_input->pattern_key = r->pattern_key;
        row_input->query_id = r->query_id;
        row_input->has_rows = true;
      }
    }
    // The runs: a uniform sample per (pattern, arm, kind); every run counted.
    // (A hint arm's run of a hint it no longer has measured another arm.)
    const bool learn = (r->flags & kTrajectoryArmKnown) != 0 && !HintRunIsStale(*r);
    // A record may stand for earlier runs besides its own (a steady
    // pattern's, TrajectoryRecord::also_runs): they count, and they go with it.
    const RunSample::Offered slot = g_run_sample->Offer(
        r->pattern_key, RunGroup(r->flags), learn ? r->latency_ms + r->also_latency_ms : 0.0, 1 + r->also_runs);
    if (slot.slot < 0) continue;
    KeptRun k;
    k.seq = seq;
    k.group = slot.group;
    k.learn = learn;
    k.heal.seq = seq;
    k.heal.pattern_key = r->pattern_key;
    k.heal.query_id = r->query_id;
    if ((r->flags & (kTrajectoryExplore | kTrajectoryBaseline | kTrajectoryCensored)) == 0) k.heal.latency_ms = r->latency_ms;
    LearnInput& in = k.in;
    in.pattern_key = r->pattern_key;
    in.query_id = r->query_id;
    in.arm = TrajectoryArm(r->flags);
    in.latency_ms = r->latency_ms;
    in.same_plan = (r->flags & kTrajectorySamePlan) != 0;
    in.censored = (r->flags & kTrajectoryCensored) != 0;
    in.database_oid = r->database_oid;
    in.role_oid = r->role_oid;
    in.relation_count = r->relation_count;
    memcpy(in.relations.data(), r->relations, sizeof(r->relations));
    in.at_us = r->recorded_at_us;
    in.also_runs = r->also_runs;
    in.also_latency_ms = r->also_latency_ms;
    if (static_cast<size_t>(slot.slot) == kept.size()) {
      kept.push_back(k);
    } else {
      kept[static_cast<size_t>(slot.slot)] = k;
    }
  }
  // The latest plan of each pattern (a pattern whose record was overwritten
  // meanwhile embeds no plan in this pass: its runs teach the bandit only).
  size_t plans = 0;
  for (size_t i = 0; i < scratch->plans.size(); ++i) {
    if (CopyRingRecordAt(s, latest_plan_seq[i], &full) != RingCopy::kCopied) continue;
    FillPlanSample(full, &scratch->plans[plans++]);
  }
  scratch->plans.resize(plans);
  if (*last >= first) AdvanceConsumed(s, *last);
  LWLockRelease(StateLock());

  PlainStatus st = RunCpp("sampling trajectories", [&]() {
    // Oldest first; the last kept run of each group carries the group's other runs.
    std::sort(kept.begin(), kept.end(), [](const KeptRun& x, const KeptRun& y) { return x.seq < y.seq; });
    std::vector<uint64_t> kept_runs(g_run_sample->groups(), 0);
    std::vector<double> kept_ms(g_run_sample->groups(), 0.0);
    std::vector<uint8_t> carried(g_run_sample->groups(), 0);
    // (A kept record carries its own earlier runs already.)
    for (const KeptRun& k : kept) {
      kept_runs[k.group] += 1 + k.in.also_runs;
      if (k.learn) kept_ms[k.group] += k.in.latency_ms + k.in.also_latency_ms;
    }
    for (auto k = kept.rbegin(); k != kept.rend(); ++k) {
      if (!k->learn || carried[k->group] != 0) continue;
      carried[k->group] = 1;
      k->in.also_runs = static_cast<uint32_t>(std::min<uint64_t>(
          k->in.also_runs + (g_run_sample->runs(k->group) - kept_runs[k->group]), UINT32_MAX));
      k->in.also_latency_ms += std::max(0.0, g_run_sample->weight(k->group) - kept_ms[k->group]);
    }
    scratch->batch.reserve(kept.size());
    scratch->heal.reserve(kept.size() + kept_rows.size());
    for (const KeptRun& k : kept) {
      if (k.learn) {
        scratch->batch.push_back(k.in);
        scratch->runs_learned += 1 + k.in.also_runs;
      }
      scratch->heal.push_back(k.heal);
    }
    for (const HealInput& h : kept_rows) {
      if (h.has_rows) scratch->heal.push_back(h);
    }
    std::sort(scratch->heal.begin(), scratch->heal.end(),
              [](const HealInput& x, const HealInput& y) { return x.seq < y.seq; });
    return Status::Ok();
  });
  ReportStatus(st, ERROR);
  return n;
}

/// The engine's pass: drift scopes, the plans (embedding, tension), the runs.
Status RunEngine(const PassStart& p, LearnScratch* scratch) {
  if (g_publish_all) {
    g_engine->patterns().DescribeAll(&scratch->out.decisions);
    for (DecisionUpdate& d : scratch->out.decisions) {
      auto annotated = g_engine->Decide(d.pattern_key);
      if (annotated.ok()) d = *annotated;
    }
  }
  for (int i = 0; i < p.notice_count; ++i) {
    DriftScope scope;
    scope.severity = p.notices[i].severity;
    scope.database_oid = p.notices[i].database_oid;
    scope.every_relation = p.notices[i].relation_count < 0;
    for (int k = 0; k < p.notices[i].relation_count && k < kDriftRelations; ++k) {
      scope.relations.push_back(p.notices[i].relations[k]);
    }
    scratch->drifts.push_back(std::move(scope));
  }
  std::vector<ruvector_dag::PlanObservation> observed;
  scratch->dags.resize(scratch->plans.size());
  for (size_t i = 0; i < scratch->plans.size(); ++i) {
    // A sample the bridge refuses teaches the bandit only.
    if (!SampleToDag(scratch->plans[i], &scratch->dags[i]).ok()) continue;
    observed.push_back({scratch->plans[i].pattern_key, &scratch->dags[i]});
  }
  // The mechanism dag_set_attention or the worker's ruvector.dag_attention
  // forces, or the selector.
  const char* source = "";
  RUVECTOR_RETURN_IF_ERROR(g_engine->ForceMechanism(WantedMechanism(p.attention_request, g_attention, &source)));
  RUVECTOR_RETURN_IF_ERROR(g_engine->SetExplorationHorizon(g_explore_horizon_s));
  RUVECTOR_RETURN_IF_ERROR(g_engine->Learn(scratch->batch, observed, scratch->drifts, &scratch->out));
  if (g_refresh_keys != nullptr) {
    for (uint64_t key : *g_refresh_keys) {
      auto d = g_engine->Decide(key);
      if (d.ok()) scratch->out.decisions.push_back(*d);
    }
    g_refresh_keys->clear();
  }
  const ruvector_dag::EngineStats stats = g_engine->Stats();
  const std::string_view mechanism = ruvector_dag::AttentionMechanismName(g_engine->mechanism());
  CopyBounded(scratch->model.mechanism, sizeof(scratch->model.mechanism), std::string(mechanism).c_str());
  const std::string reason =
      MechanismReason(g_engine->Mechanisms(), g_engine->options().selection_min_runs, source);
  CopyBounded(scratch->model.mechanism_reason, sizeof(scratch->model.mechanism_reason), reason.c_str());
  const ruvector_dag::MechanismStatus lanes = g_engine->Mechanisms();
  scratch->model.lane_count = 0;
  for (const ruvector_dag::MechanismLaneStatus& l : lanes.lanes) {
    if (scratch->model.lane_count == sizeof(scratch->model.lane_mechanism)) break;
    const uint8_t i = scratch->model.lane_count++;
    scratch->model.lane_mechanism[i] = static_cast<uint8_t>(l.mechanism);
    scratch->model.lane_error[i] = l.error;
    scratch->model.lane_runs[i] = l.evaluated;
  }
  scratch->model.runs_learned = stats.trajectories_learned;
  scratch->model.prediction_error = stats.prediction_mae_ewma;
  scratch->model.measured = stats.predicted_runs > 0 ? 1 : 0;
  scratch->model_valid = true;
  return Status::Ok();
}

/// The split test (ConstantGroups) on this pass's runs. A pattern that
/// splits now has the runs kept per constants replayed into this pass's
/// batch as runs of its constants' patterns (the key the planner hook gives
/// them: ResolveConstants).
Status UpdateSplits(bool restart, LearnScratch* scratch) {
  if (g_split_tracks == nullptr) g_split_tracks = new std::unordered_map<uint64_t, SplitTrack>();
  if (g_split_patterns == nullptr) g_split_patterns = new std::unordered_set<uint64_t>();
  if (g_constant_patterns == nullptr) g_constant_patterns = new std::unordered_set<uint64_t>();
  if (restart) {
    g_split_tracks->clear();
    g_split_patterns->clear();
    g_constant_patterns->clear();
  }
  if (g_split_tracks->size() > kMaxSplitTracked) g_split_tracks->clear();
  if (g_constant_patterns->size() > kMaxSplitTracked) g_constant_patterns->clear();
  std::vector<uint64_t> touched;
  for (const LearnScratch::ConstantRun& c : scratch->constant_runs) {
    const uint64_t key = c.run.pattern_key;
    if (c.by_constants) {
      g_constant_patterns->insert(key);
      continue;
    }
    if (g_split_patterns->count(key) != 0) continue;
    SplitTrack& t = (*g_split_tracks)[key];
    t.latest = c.run;
    t.param_bucket = c.param_bucket;
    if (c.run.arm == 0 && !c.run.censored && !c.run.same_plan) t.groups.Add(c.constants_hash, c.run.latency_ms);
    int g = 0;
    while (g < t.groups.count && t.groups.hash[g] != c.constants_hash) ++g;
    if (g == t.groups.count) {
      if (g == ConstantGroups::kMaxGroups) continue;
      t.groups.hash[t.groups.count++] = c.constants_hash;
    }
    t.runs[g][t.next[g]] = GroupRun{static_cast<int8_t>(c.run.arm), c.run.censored, c.run.same_plan,
                                    c.run.latency_ms, c.run.at_us};
    t.next[g] = (t.next[g] + 1) % kReplayRuns;
    t.count[g] = std::min(t.count[g] + 1, kReplayRuns);
    touched.push_back(key);
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (uint64_t key : touched) {
    auto it = g_split_tracks->find(key);
    if (it == g_split_tracks->end() || g_constant_patterns->count(key) != 0) continue;
    const SplitTrack& t = it->second;
    // A statement without a query id is keyed by its plan shape, which the
    // planner hook never resolves by constants (ResolveConstants): split,
    // its pattern would neither explore nor serve for good.
    if (t.latest.query_id == 0) continue;
    if (!t.groups.Split() && !TrackArmEffectsDiffer(t)) continue;
    g_split_patterns->insert(key);
    const uint64_t statement_key = ruvector_dag::HashCombine(t.latest.query_id, t.param_bucket);
    for (int g = 0; g < t.groups.count; ++g) {
      LearnInput in = t.latest;
      in.pattern_key = ScopePatternKey(ruvector_dag::HashCombine(statement_key, t.groups.hash[g]),
                                       t.latest.database_oid, t.latest.role_oid);
      // Oldest first, as they ran.
      for (int k = t.count[g]; k > 0; --k) {
        const GroupRun& r = t.runs[g][(t.next[g] - k + kReplayRuns) % kReplayRuns];
        in.arm = r.arm;
        in.censored = r.censored;
        in.same_plan = r.same_plan;
        in.latency_ms = r.latency_ms;
        in.at_us = r.at_us;
        scratch->batch.push_back(in);
      }
    }
    g_split_tracks->erase(it);
  }
  return Status::Ok();
}

/// Decision::measured_constants of pattern `key` with `deployed_arm`: its
/// split track's (ConstantGroups::MeasuredConstants, knowing which
/// constants have completed runs of that arm among the runs kept); 0 with
/// nothing deployed, or when the pattern is not followed (a constants'
/// pattern, one past kMaxSplitTracked, or after a restart: no restriction,
/// as before the split test knew the pattern).
uint64_t MeasuredConstants(uint64_t key, int deployed_arm) {
  if (g_split_tracks == nullptr || deployed_arm <= 0) return 0;
  auto it = g_split_tracks->find(key);
  if (it == g_split_tracks->end()) return 0;
  const SplitTrack& t = it->second;
  bool armed[ConstantGroups::kMaxGroups] = {false};
  for (int g = 0; g < t.groups.count; ++g) {
    for (int k = 0; k < t.count[g]; ++k) {
      const GroupRun& r = t.runs[g][k];
      armed[g] = armed[g] || (r.arm == deployed_arm && !r.censored && !r.same_plan);
    }
  }
  return t.groups.MeasuredConstants(armed);
}

/// Healing: feed the detectors (served latency, estimate error, the
/// tension of the plans executed in this pass), and run a cycle every
/// second (or at once when dag_auto_repair asks).
Status RunHealing(const LearnScratch& scratch, bool run_cycle, int64_t now_us, HealingCycleOutput* cycle,
                  std::vector<DecisionUpdate>* updates, bool* cycled) {
  if (g_healing == nullptr) g_healing = new ServerHealing(&g_engine->patterns());
  if (!g_healing_enabled) return Status::Ok();
  for (const HealInput& h : scratch.heal) {
    if (h.latency_ms > 0.0) RUVECTOR_RETURN_IF_ERROR(g_healing->ObserveServed(h.pattern_key, h.query_id, h.latency_ms));
    if (h.has_rows) RUVECTOR_RETURN_IF_ERROR(g_healing->ObserveEstimateError(h.pattern_key, h.query_id, h.log_error));
  }
  for (const PlanSample& p : scratch.plans) {
    bool measured = false;
    for (int i = 0; i < p.count && !measured; ++i) measured = p.actual_rows[i] >= 0.0f;
    if (!measured) continue;
    auto d = g_engine->Decide(p.pattern_key);
    if (d.ok()) RUVECTOR_RETURN_IF_ERROR(g_healing->ObserveTension(p.pattern_key, p.query_id, d->tension));
  }
  if (!run_cycle) return Status::Ok();
  RUVECTOR_RETURN_IF_ERROR(g_healing->RunCycle(now_us, cycle));
  *cycled = true;
  for (uint64_t key : cycle->touched) {
    auto u = g_engine->Decide(key);
    if (u.ok()) updates->push_back(*u);
  }
  return Status::Ok();
}

/// Whether a plan searches an ruhnsw index under a LIMIT (a k-nearest
/// search whose recall matters).
bool IsVectorPlan(const PlanSample& p) {
  bool hnsw = false, limit = false;
  for (int i = 0; i < p.count; ++i) {
    hnsw |= p.type[i] == static_cast<uint8_t>(ruvector_dag::OperatorType::kHnswScan);
    limit |= p.type[i] == static_cast<uint8_t>(ruvector_dag::OperatorType::kLimit);
  }
  return hnsw && limit;
}

/// Registers the pass's vector patterns and publishes every vector
/// pattern's decision (caller holds the steering lock exclusively). Returns
/// whether a decision changed.
bool PublishVectorPatterns(const std::vector<PlanSample>& plans, int64_t now) {
  for (const PlanSample& p : plans) {
    if (IsVectorPlan(p)) AddVectorPattern(&g_steer->vector, p.pattern_key, p.query_id, p.database_oid, p.role_oid, now);
  }
  ruvector_dag::VectorTuningOptions options;
  options.target = g_vector_recall_target;
  return PublishVectorDecisions(g_steer, options);
}

/// Writes the pass's decisions, events and counters into shared memory.
void PublishPass(const PassStart& p, LearnScratch* scratch, bool cycled, uint64_t last, uint64_t end) {
  const ruvector_dag::HostLearnOutput& out = scratch->out;
  int64_t now = NowUnixMicros();
  LWLockAcquire(g_steer_lock, LW_EXCLUSIVE);
  for (uint64_t key : out.evicted) RemoveDecision(g_steer, key);
  // The query filter and the backends' cached capture answers (both keyed by
  // its generation) read a decision's query id, arms and, while it explores,
  // whether its default latency reaches ruvector.dag_exploration_min_ms:
  // rebuilt only when one of them (or that setting) changed.
  const double min_ms = g_explore_min_ms;
  bool filter_changed = !out.evicted.empty() || p.restart || min_ms != g_filter_min_ms;
  g_filter_min_ms = min_ms;
  for (const DecisionUpdate& u : out.decisions) {
    Decision* d = UpsertDecision(g_steer, u.pattern_key);
    if (d == nullptr) {
      ++g_steer->counters.decisions_dropped;
      continue;
    }
    const bool split = g_split_patterns != nullptr && g_split_patterns->count(u.pattern_key) != 0;
    const uint64_t measured_constants = split ? 0 : MeasuredConstants(u.pattern_key, u.deployed_arm);
    // Compared with what is published (a split pattern serves and explores
    // nothing itself, below).
    const int published_deployed = split ? 0 : u.deployed_arm;
    const int published_explore = split ? -1 : u.explore_arm;
    filter_changed = filter_changed || (d->split != 0) != split || d->query_id != u.query_id ||
                     d->deployed_arm != published_deployed || d->explore_arm != published_explore ||
                     d->measured_constants != measured_constants ||
                     ((d->explore_arm > 0 || published_explore > 0) && (d->default_ms >= min_ms) != (u.default_ms >= min_ms)) ||
                     (d->default_runs_wanted > 0) != (!split && u.default_runs_wanted > 0);
    d->query_id = u.query_id;
    d->database_oid = u.database_oid;
    d->role_oid = u.role_oid;
    d->deployed_arm = u.deployed_arm;
    d->explore_arm = u.explore_arm;
    d->explore_runs = static_cast<uint8_t>(std::clamp<uint32_t>(u.explore_runs, 1, 255));
    d->validation = u.validation ? 1 : 0;
    d->confidence = u.confidence;
    d->default_ms = u.default_ms;
    d->deployed_ms = u.deployed_ms;
    d->best_candidate_ms = u.best_candidate_ms;
    d->best_candidate_arm = u.best_candidate_arm;
    d->observed_runs = u.observed_runs;
    d->deployments = u.deployments;
    d->reverts = u.reverts;
    d->predicted_explore_ms = u.predicted_explore_ms;
    d->predicted_default_ms = u.predicted_default_ms;
    d->predicted_deployed_ms = u.predicted_deployed_ms;
    d->prior_arm = u.prior_arm;
    d->tension = u.tension;
    d->priority = u.priority;
    d->explore_gain_ms = u.explore_gain_ms;
    d->default_runs_wanted = static_cast<uint8_t>(std::min<uint32_t>(u.default_runs_wanted, 255));
    d->verdict_gain_ms = u.verdict_gain_ms;
    d->updated_us = now;
    // A pattern split by constants: its plannings with constants become the
    // constants' patterns; it neither explores nor serves an arm itself.
    d->split = split ? 1 : 0;
    d->measured_constants = measured_constants;
    if (d->split != 0) {
      d->explore_arm = -1;
      d->deployed_arm = 0;
      d->default_runs_wanted = 0;
    }
    // A re-validation wants a fresh run of the default plan: the explorer
    // makes one when it can re-execute the statement (never a user's run).
    if (u.baseline_wanted && g_baseline_interval > 0 && CaptureExplorable(g_steer, u.pattern_key)) {
      d->since_baseline = std::max<uint64_t>(d->since_baseline, static_cast<uint64_t>(g_baseline_interval));
    }
    d->cluster = g_engine->bank().ClusterOf(u.pattern_key);
  }
  // A split pattern's captured statement is explored under its constants'
  // key from the next batch on, not after its next execution (a capture a
  // batch still holds moves at a later pass).
  if (g_split_patterns != nullptr && !g_split_patterns->empty()) {
    for (int i = 0; i < kCaptureSlots; ++i) {
      const CapturedStatement& c = g_steer->captures[i];
      if (c.split_key != 0 && g_split_patterns->count(c.pattern_key) != 0) (void)MoveCaptureToSplitKey(g_steer, i);
    }
  }
  // A drift event says that learned patterns forgot something.
  for (int i = 0; i < p.notice_count && i < static_cast<int>(out.drift_touched.size()); ++i) {
    if (out.drift_touched[static_cast<size_t>(i)] == 0) continue;
    LearnEvent ev;
    ev.type = LearnEventType::kDrift;
    ev.at_us = now;
    ev.confidence = p.notices[i].severity;
    ev.database_oid = p.notices[i].database_oid;
    ev.role_oid = p.notices[i].role_oid;
    AppendEvent(g_steer, ev);
  }
  for (const ruvector_dag::PatternEvent& e : out.events) {
    LearnEvent ev = ToLearnEvent(e);
    ev.at_us = now;
    AppendEvent(g_steer, ev);
    if (ev.type == LearnEventType::kDeploy) ++g_steer->counters.deployments;
    if (ev.type == LearnEventType::kRevert) ++g_steer->counters.reverts;
  }
  if (cycled) PublishHealing(scratch->cycle, now);
  if (scratch->model_valid) g_steer->model = scratch->model;
  g_steer->counters.bank_priors += out.priors;
  if (out.reclustered) {
    // ClusterOf is a binary search: no allocation, no error.
    for (Decision& d : g_steer->decisions) {
      if (d.key != 0) d.cluster = g_engine->bank().ClusterOf(d.key);
    }
  }
  const bool vector_changed = PublishVectorPatterns(scratch->plans, now);
  if (filter_changed || vector_changed) RebuildQueryFilter(g_steer);
  g_steer->counters.trajectories_learned += scratch->runs_learned;
  g_steer->counters.decisions_dropped += out.untracked;
  ++g_steer->counters.learn_passes;
  if (last + 1 >= p.from || end < p.from) g_steer->learned_through_seq = last;
  LWLockRelease(g_steer_lock);
}

}  // namespace

void ApplyModelSettings() {
  if (g_engine == nullptr) return;  // the next engine is created with them
  const ruvector_dag::EngineOptions& have = g_engine->options();
  // What an engine created now would get: the rates, lambda, rank and clusters.
  const ruvector_dag::EngineOptions want = ServerEngineOptions(
      have.num_arms, static_cast<size_t>(g_sona_pattern_clusters), g_learning_rate, g_sona_ewc_lambda,
      static_cast<uint32_t>(g_sona_micro_lora_rank));
  const ruvector_dag::ValueModelOptions& m = have.model;
  const ruvector_dag::ValueModelOptions& w = want.model;
  if (m.base_learning_rate != w.base_learning_rate || m.adapter_learning_rate != w.adapter_learning_rate ||
      m.ewc_lambda != w.ewc_lambda) {
    PlainStatus st = RunCpp("applying the model settings", [&]() {
      return g_engine->SetModelTraining(w.base_learning_rate, w.adapter_learning_rate, w.ewc_lambda);
    });
    ReportStatus(st, WARNING);
    if (st.ok()) {
      ereport(LOG, (errmsg("ruvector_dag worker: the value models now learn at rate %g (adapters %g) with EWC++ "
                           "lambda %g",
                           w.base_learning_rate, w.adapter_learning_rate, w.ewc_lambda)));
    }
  }
  // Said once per new value (reloads for other settings repeat nothing).
  static int told_rank = 0, told_clusters = 0;
  const bool waiting = m.lora_rank != w.lora_rank || have.bank.max_clusters != want.bank.max_clusters;
  const bool news = told_rank != g_sona_micro_lora_rank || told_clusters != g_sona_pattern_clusters;
  told_rank = g_sona_micro_lora_rank;
  told_clusters = g_sona_pattern_clusters;
  if (waiting && news) {
    ereport(LOG, (errmsg("ruvector_dag worker: ruvector.sona_micro_lora_rank and ruvector.sona_pattern_clusters "
                         "apply to the next engine (after ruvector.dag_reset_learning(), an arm change or a "
                         "restart); the running one keeps rank %u and %zu clusters",
                         m.lora_rank, have.bank.max_clusters)));
  }
}

void RefreshDecisions(const std::vector<uint64_t>& pattern_keys) {
  if (pattern_keys.empty()) return;
  if (g_refresh_keys == nullptr) g_refresh_keys = new std::vector<uint64_t>();
  // At most one pass's worth is kept (the host reports each change once).
  if (g_refresh_keys->size() < 4096) g_refresh_keys->insert(g_refresh_keys->end(), pattern_keys.begin(), pattern_keys.end());
}

int LearnStep(int max_records) {
  if (g_steer == nullptr || State() == nullptr) return 0;
  if (g_engine == nullptr) LoadLearnerFile();
  PassStart* pass = NewOwnedByContext<PassStart>(CurrentMemoryContext);
  StartPass(pass);
  if (pass->restart) {
    // Arms or learning reset (or the first pass without a learner file):
    // a fresh engine. Fewer than two arms leave nothing to learn.
    const bool loaded = g_engine != nullptr && pass->arm_gen == g_learner_arm_generation &&
                        pass->learn_gen == g_learner_learn_generation;
    if (!loaded) {
      PlainStatus st = RunCpp("starting the learner", [&]() { return MakeEngine(pass->arm_count); });
      ReportStatus(st, ERROR);
      const bool was_running = g_learner_arm_generation != 0;
      // Row corrections do not depend on the arms: only a reset forgets them.
      if (pass->learn_gen != g_learner_learn_generation) {
        ResetRowCorrections();
        ResetHintArms();
      }
      g_learner_arm_generation = pass->arm_gen;
      g_learner_learn_generation = pass->learn_gen;
      // Forgotten learning must not come back from the file at the next start.
      if (was_running) PersistLearner(LOG);
    }
  }
  NoteRowCorrectionDrift(pass->notices, pass->notice_count);
  NoteHintArmDrift(pass->notices, pass->notice_count);
  LearnScratch* scratch = NewOwnedByContext<LearnScratch>(CurrentMemoryContext);
  uint64_t last = 0, end = 0;
  const int n = CopyTrajectories(max_records, pass->from, scratch, &last, &end);
  if (end < pass->from) last = end - 1;  // the ring was reset: restart from its start

  PlainStatus ss = RunCpp("splitting patterns by constants", [&]() { return UpdateSplits(pass->restart, scratch); });
  ReportStatus(ss, LOG);
  PlainStatus st = RunCpp("learning from trajectories", [&]() { return RunEngine(*pass, scratch); });
  ReportStatus(st, LOG);
  SyncObserveRuns(scratch->batch);
  LearnRowCorrections(NowUnixMicros());
  LearnHintArms(NowUnixMicros(), g_engine, &scratch->out.decisions);
  g_publish_all = false;
  SyncObserveDefaultPlans(scratch->default_plans);

  // Healing: a failure is logged; learning carries on.
  int64_t now_us = NowUnixMicros();
  LWLockAcquire(g_steer_lock, LW_SHARED);
  uint64_t requests = g_steer->healing_requests;
  LWLockRelease(g_steer_lock);
  bool run_cycle = g_healing_enabled && (now_us - g_last_heal_us >= kHealIntervalUs || requests != g_healing_requests_seen);
  bool cycled = false;
  PlainStatus hs = RunCpp("healing", [&]() {
    return RunHealing(*scratch, run_cycle, now_us, &scratch->cycle, &scratch->out.decisions, &cycled);
  });
  ReportStatus(hs, LOG);
  if (run_cycle) {
    g_last_heal_us = now_us;
    g_healing_requests_seen = requests;
  }
  PublishPass(*pass, scratch, cycled, last, end);
  return n;
}


}  // namespace ruvector_pg
