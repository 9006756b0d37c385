// Plain-data steering state: no PostgreSQL headers (see steer_state.h).
#include "state/steer_state.h"

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "hot.h"
#include "ruvector_dag/core.h"

namespace ruvector_pg {
namespace {

constexpr uint64_t kSteerMagic = 0x5256444147535431ull;  // "RVDAGST1"

struct BuiltinArm {
  const char* name;
  const char* settings;
};
constexpr BuiltinArm kBuiltins[] = {
    {"default", ""},
    {"no_nestloop", "enable_nestloop=off\n"},
    {"hash_joins_only", "enable_nestloop=off\nenable_mergejoin=off\n"},
    {"nestloop_index_only", "enable_hashjoin=off\nenable_mergejoin=off\nenable_seqscan=off\n"},
    {"no_seqscan", "enable_seqscan=off\n"},
    {"join_order_as_written", "join_collapse_limit=1\n"},
    {"no_parallel", "max_parallel_workers_per_gather=0\n"},
    {"no_memoize", "enable_memoize=off\n"},
    {"row_corrections", ""},  // kRowCorrectionsArm: settings as default, learned row counts
    {"fix_worst_join", ""},   // kFixWorstJoinArm: settings as default, a learned join-method hint
};
static_assert(sizeof(kBuiltins) / sizeof(kBuiltins[0]) == kBuiltinArmCount, "kBuiltinArmCount is out of date");
static_assert(kRowCorrectionsArm < kBuiltinArmCount && kFixWorstJoinArm == kBuiltinArmCount - 1,
              "the built-in arms' ids");

void CopyString(char* dst, size_t cap, const char* src) {
  size_t n = std::strlen(src);
  if (n >= cap) n = cap - 1;
  std::memcpy(dst, src, n);
  dst[n] = '\0';
}

uint32_t Home(uint64_t key, uint32_t slots) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  return static_cast<uint32_t>(key) & (slots - 1);
}

}  // namespace

const char* LearnEventName(LearnEventType t) {
  switch (t) {
    case LearnEventType::kDeploy: return "deploy";
    case LearnEventType::kRevert: return "revert";
    case LearnEventType::kReject: return "reject";
    case LearnEventType::kDrift: return "drift";
    case LearnEventType::kArmsChanged: return "arms_changed";
  }
  return "unknown";
}

const char* SteerActionName(SteerAction a) {
  switch (a) {
    case SteerAction::kDefault: return "default";
    case SteerAction::kServe: return "deployed";
    case SteerAction::kExplore: return "exploring";
    case SteerAction::kBaselineCheck: return "baseline check";
    case SteerAction::kPinned: return "pinned";
    case SteerAction::kVectorSample: return "vector sample";
  }
  return "unknown";
}

void InitSteerState(SteerState* s) {
  std::memset(static_cast<void*>(s), 0, sizeof(SteerState));
  s->magic = kSteerMagic;
  s->arm_generation = 1;
  s->event_next_seq = 1;
  s->drift_next_seq = 1;
  s->finding_next_seq = 1;
  s->repair_next_seq = 1;
  s->manual_repair_next_seq = 1;
  s->explore_load = 1.0;
  s->health = HealthSummary();
  for (const BuiltinArm& b : kBuiltins) {
    ArmDef& a = s->arms[s->arm_count++];
    CopyString(a.name, sizeof(a.name), b.name);
    CopyString(a.settings, sizeof(a.settings), b.settings);
    a.builtin = 1;
  }
  for (Decision& d : s->decisions) d.explore_arm = -1;
}

int FindArm(const SteerState* s, const char* name) {
  for (uint32_t i = 0; i < s->arm_count; ++i) {
    if (std::strcmp(s->arms[i].name, name) == 0) return static_cast<int>(i);
  }
  return -1;
}

int AddArm(SteerState* s, const char* name, const char* settings) {
  if (s->arm_count >= static_cast<uint32_t>(kMaxArms) || FindArm(s, name) >= 0) return -1;
  ArmDef& a = s->arms[s->arm_count];
  a = ArmDef();
  CopyString(a.name, sizeof(a.name), name);
  CopyString(a.settings, sizeof(a.settings), settings);
  a.builtin = 0;
  ++s->arm_generation;
  return static_cast<int>(s->arm_count++);
}

bool RemoveArm(SteerState* s, int index) {
  if (index < 0 || static_cast<uint32_t>(index) >= s->arm_count || s->arms[index].builtin) return false;
  for (uint32_t i = static_cast<uint32_t>(index); i + 1 < s->arm_count; ++i) s->arms[i] = s->arms[i + 1];
  --s->arm_count;
  s->arms[s->arm_count] = ArmDef();
  for (Pin& p : s->pins) {
    if (p.query_id == 0) continue;
    if (p.arm == index) {
      p = Pin();
    } else if (p.arm > index) {
      --p.arm;
    }
  }
  ++s->arm_generation;
  return true;
}

Decision* FindDecision(SteerState* s, uint64_t key) {
  if (key == 0) return nullptr;
  for (uint32_t i = Home(key, kDecisionSlots), n = 0; n < kDecisionSlots; i = (i + 1) & (kDecisionSlots - 1), ++n) {
    if (s->decisions[i].key == key) return &s->decisions[i];
    if (s->decisions[i].key == 0) return nullptr;
  }
  return nullptr;
}

const Decision* FindDecision(const SteerState* s, uint64_t key) {
  return FindDecision(const_cast<SteerState*>(s), key);
}

Decision* UpsertDecision(SteerState* s, uint64_t key) {
  if (key == 0) return nullptr;
  if (Decision* d = FindDecision(s, key)) return d;
  // Keep the table at most 7/8 full so probe chains stay short.
  if (s->decision_count >= kDecisionSlots / 8 * 7) return nullptr;
  for (uint32_t i = Home(key, kDecisionSlots);; i = (i + 1) & (kDecisionSlots - 1)) {
    if (s->decisions[i].key == 0) {
      s->decisions[i] = Decision();
      s->decisions[i].key = key;
      ++s->decision_count;
      return &s->decisions[i];
    }
  }
}

bool RemoveDecision(SteerState* s, uint64_t key) {
  if (key == 0) return false;
  constexpr uint32_t kMask = kDecisionSlots - 1;
  uint32_t hole = Home(key, kDecisionSlots);
  uint32_t n = 0;
  while (s->decisions[hole].key != key) {
    if (s->decisions[hole].key == 0 || ++n == kDecisionSlots) return false;
    hole = (hole + 1) & kMask;
  }
  // Shift later members of the probe chain back into the hole.
  for (uint32_t next = (hole + 1) & kMask;; next = (next + 1) & kMask) {
    const uint64_t k = s->decisions[next].key;
    if (k == 0) break;
    const uint32_t home = Home(k, kDecisionSlots);
    // `next` may move to `hole` when its home is not in (hole, next].
    const bool movable = hole <= next ? (home <= hole || home > next) : (home <= hole && home > next);
    if (movable) {
      s->decisions[hole] = s->decisions[next];
      hole = next;
    }
  }
  s->decisions[hole] = Decision();
  --s->decision_count;
  return true;
}

void AppendDrift(SteerState* s, const DriftNotice& notice) {
  DriftNotice& slot = s->drift[(s->drift_next_seq - 1) % kDriftCapacity];
  slot = notice;
  slot.seq = s->drift_next_seq++;
}

void ClearDecisions(SteerState* s) {
  for (Decision& d : s->decisions) d = Decision();
  s->decision_count = 0;
  RebuildQueryFilter(s);
}

int PinnedArm(const SteerState* s, uint64_t query_id, uint32_t database_oid) {
  if (query_id == 0) return -1;
  int any_database = -1;
  for (const Pin& p : s->pins) {
    if (p.query_id != query_id) continue;
    if (p.database_oid == database_oid) return p.arm;
    if (p.database_oid == 0) any_database = p.arm;
  }
  return any_database;
}

bool SetPin(SteerState* s, uint64_t query_id, int arm, uint32_t database_oid) {
  if (query_id == 0) return false;
  Pin* free_slot = nullptr;
  for (Pin& p : s->pins) {
    if (p.query_id == query_id && p.database_oid == database_oid) {
      p.arm = arm;
      return true;
    }
    if (p.query_id == 0 && free_slot == nullptr) free_slot = &p;
  }
  if (free_slot == nullptr) return false;
  free_slot->query_id = query_id;
  free_slot->arm = arm;
  free_slot->database_oid = database_oid;
  return true;
}

bool RemovePin(SteerState* s, uint64_t query_id, uint32_t database_oid) {
  if (query_id == 0) return false;  // 0 marks an empty slot, never a pin
  for (Pin& p : s->pins) {
    if (p.query_id == query_id && p.database_oid == database_oid) {
      p = Pin();
      return true;
    }
  }
  return false;
}

const AdvicePin* FindAdvicePin(const SteerState* s, uint64_t query_id, uint32_t database_oid) {
  if (query_id == 0) return nullptr;
  for (const AdvicePin& p : s->advice_pins) {
    if (p.query_id == query_id && p.database_oid == database_oid) return &p;
  }
  return nullptr;
}

AdvicePin* FindAdvicePin(SteerState* s, uint64_t query_id, uint32_t database_oid) {
  return const_cast<AdvicePin*>(FindAdvicePin(static_cast<const SteerState*>(s), query_id, database_oid));
}

bool SetAdvicePin(SteerState* s, const AdvicePin& pin) {
  if (pin.query_id == 0) return false;
  AdvicePin* slot = FindAdvicePin(s, pin.query_id, pin.database_oid);
  for (AdvicePin& p : s->advice_pins) {
    if (slot == nullptr && p.query_id == 0) slot = &p;
  }
  if (slot == nullptr) return false;
  *slot = pin;
  slot->plans = 0;
  slot->failures = 0;
  RemovePin(s, pin.query_id, pin.database_oid);
  return true;
}

bool RemoveAdvicePin(SteerState* s, uint64_t query_id, uint32_t database_oid) {
  AdvicePin* p = FindAdvicePin(s, query_id, database_oid);
  if (p == nullptr) return false;
  *p = AdvicePin();
  return true;
}

uint8_t QueryFilterFlags(const SteerState* s, uint64_t query_id) {
  if (query_id == 0) return 0;
  for (uint32_t i = Home(query_id, kQueryFilterSlots), n = 0; n < kQueryFilterSlots;
       i = (i + 1) & (kQueryFilterSlots - 1), ++n) {
    if (s->filter[i].query_id == query_id) return s->filter[i].flags;
    if (s->filter[i].query_id == 0) return 0;
  }
  return 0;
}

namespace {
void FilterAdd(SteerState* s, uint64_t query_id, uint8_t flags) {
  if (query_id == 0 || flags == 0) return;
  for (uint32_t i = Home(query_id, kQueryFilterSlots), n = 0; n < kQueryFilterSlots;
       i = (i + 1) & (kQueryFilterSlots - 1), ++n) {
    if (s->filter[i].query_id == query_id || s->filter[i].query_id == 0) {
      s->filter[i].query_id = query_id;
      s->filter[i].flags |= flags;
      return;
    }
  }
}
}  // namespace

void RebuildQueryFilter(SteerState* s) {
  for (QueryFilterEntry& f : s->filter) f = QueryFilterEntry();
  // What plannings serve, as a digest independent of slot order (a sum of
  // per-item mixes): deployed arms and the constants they are served to,
  // vector settings, splits, pins.
  uint64_t served = 0;
  auto mix = [&served](uint64_t a, uint64_t b) {
    uint64_t x = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    served += x ^ (x >> 29);
  };
  for (const Decision& d : s->decisions) {
    if (d.key == 0) continue;
    mix(d.key, (static_cast<uint64_t>(static_cast<uint32_t>(d.deployed_arm)) << 32) ^
                   (static_cast<uint64_t>(static_cast<uint32_t>(d.vector_setting)) << 1) ^ (d.split != 0 ? 1 : 0));
    // Which constants a deployed arm is served to (cached plans of others
    // were planned without it).
    if (d.measured_constants != 0) mix(d.key ^ 0x5bd1e9955bd1e995ull, d.measured_constants);
    uint8_t flags = 0;
    if (d.deployed_arm != 0 || d.vector_setting >= 0) flags |= kFilterDeployedOrPinned;
    if (d.explore_arm > 0) flags |= kFilterExploring;
    if (d.split != 0) flags |= kFilterSplit;
    FilterAdd(s, d.query_id, flags);
  }
  for (const Pin& p : s->pins) FilterAdd(s, p.query_id, kFilterDeployedOrPinned);
  for (const AdvicePin& p : s->advice_pins) FilterAdd(s, p.query_id, kFilterDeployedOrPinned);
  for (const Pin& p : s->pins) {
    if (p.query_id != 0) mix(p.query_id ^ p.database_oid, static_cast<uint64_t>(static_cast<uint32_t>(p.arm)) + 7);
  }
  for (const AdvicePin& p : s->advice_pins) {
    if (p.query_id == 0) continue;
    uint64_t text = 0xcbf29ce484222325ull;  // FNV-1a of the advice text
    for (const char* c = p.text; c < p.text + sizeof(p.text) && *c != '\0'; ++c) {
      text = (text ^ static_cast<unsigned char>(*c)) * 0x100000001b3ull;
    }
    mix(p.query_id ^ p.database_oid, text);
  }
  std::atomic_ref<uint64_t>(s->filter_generation).fetch_add(1, std::memory_order_release);
  if (served != s->served_digest) {
    s->served_digest = served;
    std::atomic_ref<uint64_t>(s->served_generation).fetch_add(1, std::memory_order_release);
  }
}

RUVECTOR_HOT uint64_t ServedGeneration(const SteerState* s) {
  return std::atomic_ref<uint64_t>(const_cast<SteerState*>(s)->served_generation).load(std::memory_order_acquire);
}

RUVECTOR_HOT uint64_t QueryFilterGeneration(const SteerState* s) {
  return std::atomic_ref<uint64_t>(const_cast<SteerState*>(s)->filter_generation).load(std::memory_order_acquire);
}

void AppendEvent(SteerState* s, const LearnEvent& e) {
  LearnEvent& slot = s->events[(s->event_next_seq - 1) % kEventCapacity];
  slot = e;
  slot.seq = s->event_next_seq++;
}

void AppendFinding(SteerState* s, const HealthFindingEntry& e) {
  HealthFindingEntry& slot = s->findings[(s->finding_next_seq - 1) % kHealthRingCapacity];
  slot = e;
  slot.seq = s->finding_next_seq++;
}

void AppendRepair(SteerState* s, const HealthRepairEntry& e) {
  const bool manual = std::strcmp(e.origin, "auto_repair") == 0;
  HealthRepairEntry* ring = manual ? s->manual_repairs : s->repairs;
  uint64_t& next = manual ? s->manual_repair_next_seq : s->repair_next_seq;
  HealthRepairEntry& slot = ring[(next - 1) % kHealthRingCapacity];
  slot = e;
  slot.seq = next++;
}

void CopyBounded(char* dst, size_t cap, const char* src) { CopyString(dst, cap, src); }

SteerChoice ChooseArm(SteerState* s, uint64_t key, uint64_t query_id, double explore_budget,
                      uint32_t baseline_interval, bool background_baseline, uint32_t database_oid,
                      uint64_t constants_hash) {
  SteerChoice c;
  if (AdvicePin* advice = FindAdvicePin(s, query_id, database_oid)) {
    c.advice = static_cast<int>(advice - s->advice_pins);
    c.action = SteerAction::kPinned;
    c.confidence = 1.0;
    ++advice->plans;
    ++s->counters.pinned_plans;
    return c;
  }
  int pinned = PinnedArm(s, query_id, database_oid);
  if (pinned >= 0 && static_cast<uint32_t>(pinned) < s->arm_count) {
    c.arm = pinned;
    c.action = SteerAction::kPinned;
    c.confidence = 1.0;
    ++s->counters.pinned_plans;
    return c;
  }
  Decision* d = FindDecision(s, key);
  if (d == nullptr) return c;
  // The exploration budget is a share of the plannings in sessions that
  // explore: plannings elsewhere (analysis functions, EXPLAIN in sessions
  // with exploration off) must not make room for more explorations.
  if (explore_budget > 0.0) ++d->plans;
  c.confidence = d->confidence;
  c.default_ms = d->default_ms;
  if (d->vector_state != kVectorNone) {
    // A vector pattern is served only what its recall was measured for:
    // the tuned search setting on PostgreSQL's plan, never an arm whose
    // recall nobody measured (docs/vector.md, "Learned ef_search").
    if (d->vector_setting >= 0) {
      c.vector = d->vector_setting;
      c.action = SteerAction::kServe;
    }
    return c;
  }
  // A candidate measured for a vote (d->validation) is run only by the
  // background explorer: users' statements never pay for a peer's proposal.
  bool explore_ok = explore_budget > 0.0 && d->explore_arm > 0 && d->validation == 0 &&
                    static_cast<uint32_t>(d->explore_arm) < s->arm_count &&
                    static_cast<double>(d->explorations + 1) <= explore_budget * static_cast<double>(d->plans);
  if (explore_ok) {
    ++d->explorations;
    c.arm = d->explore_arm;
    c.action = SteerAction::kExplore;
    ++s->counters.exploration_plans;
    return c;
  }
  if (d->deployed_arm > 0 && static_cast<uint32_t>(d->deployed_arm) < s->arm_count) {
    // The arm was measured on statements with other constants, and the
    // pattern has not shown that its constants do not matter: PostgreSQL's
    // plan, whose runs tell the split test whether they do.
    if (d->measured_constants != 0 && constants_hash != 0 && constants_hash != d->measured_constants) {
      c.unmeasured_constants = true;
      ++s->counters.unmeasured_constants_plans;
      return c;
    }
    ++d->since_baseline;
    // A baseline check runs PostgreSQL's (slow) plan: never in a user's
    // statement while the background explorer can take it.
    if (baseline_interval > 0 && d->since_baseline >= baseline_interval && !background_baseline) {
      d->since_baseline = 0;
      c.arm = 0;
      c.action = SteerAction::kBaselineCheck;
      ++s->counters.baseline_checks;
      return c;
    }
    c.arm = d->deployed_arm;
    c.action = SteerAction::kServe;
    c.arm_ms = d->deployed_ms;
  }
  return c;
}

}  // namespace ruvector_pg

// --- captured statements and explorer batches ----------------------------------

namespace ruvector_pg {

int FindCapture(const SteerState* s, uint64_t key) {
  if (key == 0) return -1;
  for (int i = 0; i < kCaptureSlots; ++i) {
    if (s->captures[i].pattern_key == key) return i;
  }
  return -1;
}

bool MoveCaptureToSplitKey(SteerState* s, int idx) {
  if (idx < 0 || idx >= kCaptureSlots) return false;
  CapturedStatement& c = s->captures[idx];
  if (c.pattern_key == 0 || c.split_key == 0 || c.split_key == c.pattern_key || c.unsafe != 0 ||
      c.failures >= kMaxCaptureFailures || FindCapture(s, c.split_key) >= 0) {
    return false;
  }
  const ExploreRequest& r = s->explore;
  if (r.id != 0 && r.finished_us == 0) {
    for (int j = 0; j < r.job_count && j < kMaxExploreJobs; ++j) {
      if (r.jobs[j].capture == idx) return false;
    }
  }
  c.pattern_key = c.split_key;
  c.split_key = 0;
  return true;
}

bool CaptureRuledOut(const SteerState* s, uint64_t key, double min_default_ms) {
  if (key == 0) return true;
  const Decision* d = FindDecision(s, key);
  if (d == nullptr) return true;
  const bool explore = (d->explore_arm > 0 || d->default_runs_wanted > 0) && d->default_ms >= min_default_ms;
  return !explore && d->deployed_arm <= 0 && d->vector_state == kVectorNone;
}

bool CaptureWanted(const SteerState* s, uint64_t key, int64_t now_us, int64_t refresh_us, double min_default_ms) {
  if (CaptureRuledOut(s, key, min_default_ms)) return false;
  int idx = FindCapture(s, key);
  if (idx < 0) return true;
  // An unsafe statement is never captured again while its slot lives: the
  // check costs a parse analysis, and the answer would not change by itself.
  if (s->captures[idx].unsafe != 0) return false;
  // A vector pattern being tuned, or with settings still proving the
  // target, needs new statements (recall samples).
  const Decision* d = FindDecision(s, key);
  if (d != nullptr && d->vector_state != kVectorNone && refresh_us > kVectorCaptureRefreshUs) {
    const VectorPattern* p = d->vector_state == kVectorTuning ? nullptr : FindVectorPattern(&s->vector, key);
    if (d->vector_state == kVectorTuning || (p != nullptr && VectorProving(*p))) refresh_us = kVectorCaptureRefreshUs;
  }
  return now_us - s->captures[idx].captured_us >= refresh_us;
}

CapturedStatement* ClaimCapture(SteerState* s, uint64_t key, uint32_t role_oid) {
  int idx = FindCapture(s, key);
  if (idx < 0) {
    // A role holding half of the slots replaces one of its own captures,
    // and others take theirs from it first: a flood of one role's
    // statements cannot take every other role's slots.
    int held = 0, top_held = 0;
    uint32_t top_role = 0;
    for (const CapturedStatement& c : s->captures) {
      if (c.pattern_key == 0) continue;
      int n = 0;
      for (const CapturedStatement& o : s->captures) n += o.pattern_key != 0 && o.role_oid == c.role_oid;
      if (c.role_oid == role_oid) held = n;
      if (n > top_held) {
        top_held = n;
        top_role = c.role_oid;
      }
    }
    const bool restricted = held >= kCaptureSlots / 2 || top_held >= kCaptureSlots / 2;
    const uint32_t victim_role = held >= kCaptureSlots / 2 ? role_oid : top_role;
    const bool own_only = restricted;
    int spent = -1;
    int oldest = -1;
    for (int i = 0; i < kCaptureSlots; ++i) {
      const CapturedStatement& c = s->captures[i];
      if (c.pattern_key == 0) {
        idx = i;
        break;
      }
      if (own_only && c.role_oid != victim_role) continue;
      const Decision* d = FindDecision(s, c.pattern_key);
      bool done = c.unsafe != 0 || c.failures >= kMaxCaptureFailures ||
                  (d != nullptr && d->explore_arm <= 0 && d->default_runs_wanted == 0 && d->deployed_arm <= 0 &&
                   d->vector_state == kVectorNone);
      if (done && (spent < 0 || c.captured_us < s->captures[spent].captured_us)) spent = i;
      if (oldest < 0 || c.captured_us < s->captures[oldest].captured_us) oldest = i;
    }
    if (idx < 0) idx = spent >= 0 ? spent : (oldest >= 0 ? oldest : 0);
  }
  CapturedStatement* c = &s->captures[idx];
  // A refresh of the same pattern (new parameters) keeps what the explorer
  // learned about it: when it last ran and its timeout back-off.
  const bool same = c->pattern_key == key;
  const int64_t last_explored = c->last_explored_us;
  const int32_t timeout_arm = c->timeout_arm;
  const uint32_t timeout_streak = c->timeout_streak;
  *c = CapturedStatement();
  c->pattern_key = key;
  if (same) {
    c->last_explored_us = last_explored;
    c->timeout_arm = timeout_arm;
    c->timeout_streak = timeout_streak;
  }
  return c;
}

namespace {

double ClampedLoad(const SteerState* s);

/// The work a capture has at `now_us`: 1 = measure the candidate arm, 2 = a
/// baseline run of arm 0 is due (by plannings and by BaselineSpacingUs), 3 =
/// runs of arm 0 that a verdict on a measured candidate waits for
/// (Decision::default_runs_wanted), 0 = none.
int CaptureWork(const SteerState* s, const CapturedStatement& c, const ExplorePlan& plan, int64_t now_us,
                const Decision** decision) {
  if (c.pattern_key == 0 || c.unsafe != 0 || c.failures >= kMaxCaptureFailures) return 0;
  const Decision* d = FindDecision(s, c.pattern_key);
  if (d == nullptr || !(d->default_ms > 0.0)) return 0;
  *decision = d;
  if (d->deployed_arm > 0 && plan.baseline_interval > 0 && d->since_baseline >= plan.baseline_interval &&
      (d->last_baseline_us == 0 ||
       now_us - d->last_baseline_us >= BaselineSpacingUs(*d, plan.cpu_budget, ClampedLoad(s)))) {
    return 2;
  }
  // Before more runs of any candidate: the verdict is one measurement of the
  // default away.
  if (d->default_runs_wanted > 0 && d->deployed_arm <= 0 && d->validation == 0 &&
      d->default_ms >= plan.min_default_ms) {
    return 3;
  }
  if (d->explore_arm > 0 && static_cast<uint32_t>(d->explore_arm) < s->arm_count &&
      d->default_ms >= plan.min_default_ms && (d->validation == 0 || plan.validation_credit_ms > 0.0)) {
    return 1;
  }
  return 0;
}

int TimeoutMs(double t) {
  if (!(t < 2.0e9)) return 2000000000;
  int ms = static_cast<int>(t) + (t > static_cast<int>(t) ? 1 : 0);
  return ms < 1 ? 1 : ms;
}

double ClampedLoad(const SteerState* s) {
  return s->explore_load > 1.0 ? (s->explore_load < kMaxExploreLoad ? s->explore_load : kMaxExploreLoad) : 1.0;
}

/// Consecutive timeouts of `arm` on the statement.
uint32_t Streak(const CapturedStatement& c, int arm) { return c.timeout_arm == arm ? c.timeout_streak : 0; }

/// The timeout of one run after `streak` consecutive timeouts of its arm:
/// `base_ms` (already scaled by the load) doubled per timeout (at most
/// kMaxTimeoutDoublings times), but never raised beyond
/// kMaxTimeoutDefaultMultiple x the default's latency x the load (an arm that
/// slow is of no use), plus the slack.
int RunTimeoutMs(uint32_t streak, double base_ms, double default_ms, double load, double slack_ms) {
  double t = base_ms;
  if (streak > 0) {
    const uint32_t doublings = streak < kMaxTimeoutDoublings ? streak : kMaxTimeoutDoublings;
    const double raised = base_ms * static_cast<double>(1u << doublings);
    const double cap = kMaxTimeoutDefaultMultiple * default_ms * load;
    t = raised < cap ? raised : (cap > base_ms ? cap : base_ms);
  }
  return TimeoutMs(t + slack_ms);
}

/// The best measured latency of a pattern: its default, deployed arm or
/// best candidate.
double BestMs(const Decision& d) {
  double best = d.default_ms;
  if (d.deployed_arm > 0 && d.deployed_ms > 0.0 && d.deployed_ms < best) best = d.deployed_ms;
  if (d.best_candidate_arm >= 0 && d.best_candidate_ms > 0.0 && d.best_candidate_ms < best) best = d.best_candidate_ms;
  return best;
}

/// The latency a candidate must beat to be deployed: the deployed arm's,
/// else the default plan's. A candidate run cut sooner than that could not
/// tell whether the candidate is faster: its timeout never is.
double ReferenceMs(const Decision& d) {
  if (d.deployed_arm > 0 && d.deployed_ms > 0.0) return d.deployed_ms;
  return d.default_ms;
}

/// The value model's latency of the decision's candidate arm (0 = none or
/// not a finite positive number).
double PredictedMs(const Decision& d) {
  const double p = d.predicted_explore_ms;
  return std::isfinite(p) && p > 0.0 ? p : 0.0;
}

/// One job for a capture before it is fitted to the credit.
struct JobPlan {
  int arm = 0;
  int runs = 1;
  int timeout_ms = 1;
  int min_timeout_ms = 1;     // a shorter run could not tell anything new
  double expected_ms = 0.0;   // what one run is expected to cost
  uint32_t streak = 0;
};

/// What a load probe of capture `c` (a run of its default plan) takes on an
/// unloaded server: the captured execution's own time when it ran the
/// default plan, else the pattern's default latency.
double ProbeExpectedMs(const CapturedStatement& c, const Decision& d) {
  return c.reference_ms > 0.0 ? c.reference_ms : d.default_ms;
}

/// The default latency a run of capture `c`'s default plan is timed from:
/// the larger of the pattern's and the captured execution's own, so that
/// the slow statement of a pattern not yet split by constants completes.
double DefaultRunBaseMs(const CapturedStatement& c, const Decision& d) {
  return std::max(d.default_ms, c.reference_ms);
}

JobPlan PlanJob(const CapturedStatement& c, const Decision& d, int work, const ExplorePlan& plan, double load) {
  JobPlan j;
  if (work == 2 || work == 3) {
    const double base = DefaultRunBaseMs(c, d);
    j.arm = 0;
    j.runs = work == 3 ? std::clamp<int>(d.default_runs_wanted, 1, kMaxJobRuns) : 1;
    j.streak = Streak(c, 0);
    j.timeout_ms =
        RunTimeoutMs(j.streak, 2.0 * plan.timeout_factor * base * load, base, load, plan.slack_ms);
    j.min_timeout_ms =
        std::min(j.timeout_ms, TimeoutMs(2.0 * plan.min_timeout_factor * base * load + plan.slack_ms));
    j.expected_ms = ProbeExpectedMs(c, d) * load;
    return j;
  }
  const double best = BestMs(d) * load;
  // A run for a vote is compared with the default (the vote's gain is over
  // the default's latency): its timeouts are the default's bounds, so a
  // cancelled run is a verdict, never a flattering lower bound.
  const double reference = (d.validation != 0 ? d.default_ms : ReferenceMs(d)) * load;
  j.arm = d.explore_arm;
  j.streak = Streak(c, j.arm);
  // After a timeout, one longer run: more runs at a timeout that was too
  // short would only repeat the lower bound.
  // Otherwise plan.runs, or as many as the learner needs to judge the arm
  // (at most kMaxJobRuns): an arm is measured to a verdict in one batch
  // rather than over several that each wait their turn.
  j.runs = j.streak > 0 ? 1 : std::max(plan.runs, std::min<int>(d.explore_runs, kMaxJobRuns));
  const double predicted = PredictedMs(d) * load;
  // A first attempt predicted faster than the reference (the deployed arm,
  // else the default) gets timeout_factor x the prediction, never less than
  // min_timeout_factor x the reference: a run that beats what it must beat
  // still completes. (Not the best candidate's latency: measured on another
  // capture of the pattern, it would cut runs that could still win and leave
  // censored runs that block a deployment.) After a timeout the prediction
  // was wrong: the back-off starts from timeout_factor x the reference.
  double base = plan.timeout_factor * reference;
  if (j.streak == 0 && predicted > 0.0) {
    base = std::max(plan.min_timeout_factor * reference, std::min(base, plan.timeout_factor * predicted));
  }
  j.timeout_ms = RunTimeoutMs(j.streak, base, d.default_ms, load, plan.slack_ms);
  j.min_timeout_ms = j.streak > 0 ? RunTimeoutMs(j.streak - 1, plan.timeout_factor * reference, d.default_ms,
                                                 load, plan.slack_ms) + 1
                                  : TimeoutMs(plan.min_timeout_factor * reference + plan.slack_ms);
  j.min_timeout_ms = std::min(j.min_timeout_ms, j.timeout_ms);
  // Expected cost of one run: the prediction (no less than the best /
  // kMaxPredictedSpeedup), else the best measured latency; at most the
  // timeout (after a timeout: the timeout).
  double expected = best;
  if (predicted > 0.0) expected = std::max(predicted, best / kMaxPredictedSpeedup);
  j.expected_ms = j.streak > 0 ? static_cast<double>(j.timeout_ms) : std::min<double>(j.timeout_ms, expected);
  return j;
}

bool OwnedBy(const CapturedStatement& c, uint32_t database_oid, uint32_t role_oid) {
  return c.database_oid == database_oid && c.role_oid == role_oid;
}

}  // namespace

int ChargeUnfinishedBatch(SteerState* s) {
  const ExploreRequest& r = s->explore;
  const bool one = r.running_job >= 0 && r.running_job < r.job_count;
  int charged = 0;
  for (int i = one ? r.running_job : 0; i < (one ? r.running_job + 1 : r.job_count); ++i) {
    const ExploreJob& job = r.jobs[i];
    if (job.capture < 0 || job.capture >= kCaptureSlots) continue;
    CapturedStatement& c = s->captures[job.capture];
    if (c.pattern_key != job.pattern_key) continue;
    ++c.failures;
    ++charged;
  }
  return charged;
}

bool CaptureExplorable(const SteerState* s, uint64_t key) {
  int idx = FindCapture(s, key);
  return idx >= 0 && s->captures[idx].unsafe == 0 && s->captures[idx].failures < kMaxCaptureFailures;
}

int64_t BaselineSpacingUs(const Decision& d, double cpu_budget, double load) {
  if (!(cpu_budget > 0.0) || !(d.default_ms > 0.0)) return 0;
  const double us = kCaptureSlots * d.default_ms * std::max(1.0, load) * 1000.0 / cpu_budget;
  return us < 9.0e18 ? static_cast<int64_t>(us) : INT64_MAX;
}

double ExploreWeight(const Decision& d, double stake_ms) {
  double stake = d.default_ms;
  if (std::isfinite(stake_ms) && stake_ms > stake) stake = stake_ms;
  const double tension = std::isfinite(d.tension) ? std::clamp(d.tension, 0.0, 1.0) : 0.0;
  const double weight = stake * (1.0 + tension);
  return std::isfinite(d.priority) && d.priority > weight ? d.priority : weight;
}

double ExploreValue(const SteerState* s, int slot, int64_t now_us, const ExplorePlan& plan) {
  if (slot < 0 || slot >= kCaptureSlots) return 0.0;
  const CapturedStatement& c = s->captures[slot];
  const Decision* d = nullptr;
  const int work = CaptureWork(s, c, plan, now_us, &d);
  if (work == 0) return 0.0;
  const JobPlan j = PlanJob(c, *d, work, plan, ClampedLoad(s));
  // A job that can never fit the budget is not planned at all.
  if (plan.max_credit_ms > 0.0 && j.min_timeout_ms > plan.max_credit_ms) return 0.0;
  const int64_t since = std::max(c.last_explored_us, c.captured_us);
  const double waited_s = std::min(60.0, std::max(0.0, static_cast<double>(now_us - since) / 1e6));
  const double aging = 1.0 + waited_s / 10.0;
  if (work == 2) return kBaselineValue * aging;
  const double halving = static_cast<double>(1u << std::min<uint32_t>(j.streak, 20));
  const double cost = std::max(1e-3, static_cast<double>(j.runs) * j.expected_ms);
  if (work == 3 && std::isfinite(d->verdict_gain_ms) && d->verdict_gain_ms > 0.0) {
    // Valued as a trial is: the candidate's measured saving within the
    // engine's horizon against the default runs' expected cost.
    const double gain = d->verdict_gain_ms / halving;
    return gain > cost ? (gain - cost) / cost * aging : 0.0;
  }
  // A vote owed is not a trial the engine valued: it is ranked by what is at
  // stake, as an unvalued candidate.
  if (d->validation == 0 && std::isfinite(d->explore_gain_ms) && d->explore_gain_ms > 0.0) {
    // The engine's expected saving within its horizon against this job's
    // expected cost (at the measured load): only a trial that pays is run.
    const double gain = d->explore_gain_ms / halving;
    return gain > cost ? (gain - cost) / cost * aging : 0.0;
  }
  const double weight = ExploreWeight(*d, plan.stake_ms != nullptr ? plan.stake_ms[slot] : 0.0);
  return weight * (0.5 / halving) / cost * aging;
}

double PlanCreditMs(double credit_us) {
  const double ms = credit_us / 1000.0;
  return ms > kSpentCreditMs ? ms : kSpentCreditMs;
}

bool NextExploreOwner(const SteerState* s, int64_t now_us, const ExplorePlan& plan, uint32_t* database_oid,
                      uint32_t* role_oid) {
  int top = -1;
  double top_value = 0.0;
  for (int i = 0; i < kCaptureSlots; ++i) {
    if (plan.only_database != 0 && !OwnedBy(s->captures[i], plan.only_database, plan.only_role)) continue;
    const double v = ExploreValue(s, i, now_us, plan);
    if (v > top_value) {
      top = i;
      top_value = v;
    }
  }
  if (top < 0) return false;
  *database_oid = s->captures[top].database_oid;
  *role_oid = s->captures[top].role_oid;
  return true;
}

int PlanExploreBatch(SteerState* s, int64_t now_us, const ExplorePlan& plan, ExploreRequest* out) {
  out->job_count = 0;
  uint32_t database = 0, role = 0;
  if (!NextExploreOwner(s, now_us, plan, &database, &role)) return 0;
  const double load = ClampedLoad(s);
  out->database_oid = database;
  out->role_oid = role;
  out->runs_done = out->timeouts = out->errors = 0;
  out->started_us = out->finished_us = 0;
  out->explorer_pid = 0;
  // That owner's captures with work, most valuable first (ties by slot).
  int order[kCaptureSlots];
  double value[kCaptureSlots];
  int candidates = 0;
  for (int i = 0; i < kCaptureSlots; ++i) {
    if (!OwnedBy(s->captures[i], database, role)) continue;
    const double v = ExploreValue(s, i, now_us, plan);
    if (!(v > 0.0)) continue;
    int at = candidates++;
    while (at > 0 && value[at - 1] < v) {
      order[at] = order[at - 1];
      value[at] = value[at - 1];
      --at;
    }
    order[at] = i;
    value[at] = v;
  }
  const double credit = plan.credit_ms > 0.0 ? plan.credit_ms : 1e18;
  double spent = 0.0;
  out->validation_ms = 0.0;
  bool has_probe = false;
  bool borrowed = false;   // a trial borrowed beyond the credit (at most one per batch)
  int probe_capture = -1;  // a capture whose candidate timed out last time
  for (int k = 0; k < candidates && out->job_count < kMaxExploreJobs; ++k) {
    const int i = order[k];
    CapturedStatement& c = s->captures[i];
    const Decision* d = nullptr;
    const int work = CaptureWork(s, c, plan, now_us, &d);
    JobPlan j = PlanJob(c, *d, work, plan, load);
    // Fit the credit: fewer runs, then a shorter timeout, else later (a run
    // is never charged more than the credit it was given). A validation
    // job fits the validation credit too.
    const bool validation = work == 1 && d->validation != 0;
    const double remaining =
        validation ? std::min(credit - spent, plan.validation_credit_ms - out->validation_ms) : credit - spent;
    const double worst = static_cast<double>(j.runs) * j.timeout_ms;
    if (worst > remaining && !borrowed && work != 2 && !validation && plan.max_credit_ms > 0.0 &&
        remaining > kSpentCreditMs && worst <= remaining + plan.max_credit_ms) {
      // The first trial that does not fit what is left borrows for its
      // whole job, at most max_credit_ms beyond the credit: cut to fit, a
      // slow pattern's trial would get one run per batch and its verdict
      // would wait for several refills while cheaper jobs take each one.
      // The debt is owed in full before the next batch; nothing after it in
      // this batch fits. (Not a baseline check: it is ranked first whatever
      // it is worth now.)
      borrowed = true;
    } else {
      if (worst > remaining) j.runs = 1;
      if (j.timeout_ms > remaining) {
        if (remaining < j.min_timeout_ms) continue;
        j.timeout_ms = static_cast<int>(remaining);
      }
    }
    ExploreJob& job = out->jobs[out->job_count++];
    job = ExploreJob();
    job.capture = i;
    job.pattern_key = c.pattern_key;
    job.arm = j.arm;
    job.runs = j.runs;
    job.timeout_ms = j.timeout_ms;
    spent += static_cast<double>(j.runs) * j.timeout_ms;
    if (validation) out->validation_ms += static_cast<double>(j.runs) * j.timeout_ms;
    if (work == 2 || work == 3) {
      // A run of the default measures the load too.
      job.probe = 1;
      job.expected_ms = ProbeExpectedMs(c, *d);
      has_probe = true;
      if (work == 2) {
        Decision* due = FindDecision(s, c.pattern_key);
        due->since_baseline = 0;
        due->last_baseline_us = now_us;
      }
    } else if (j.streak > 0 && probe_capture < 0) {
      probe_capture = i;
    }
    c.last_explored_us = now_us;
  }
  // While runs time out or the last probe found the server loaded, one run
  // of the default measures the load again (which is how timeouts shrink
  // back once the load is gone), when it fits the credit. An idle server
  // pays nothing for this.
  if (!has_probe && out->job_count > 0 && (load > 1.0 || probe_capture >= 0)) {
    const int i = probe_capture >= 0 ? probe_capture : out->jobs[0].capture;
    const Decision* d = FindDecision(s, s->captures[i].pattern_key);
    const double base = DefaultRunBaseMs(s->captures[i], *d);
    const int timeout = RunTimeoutMs(Streak(s->captures[i], 0), 2.0 * plan.timeout_factor * base * load, base, load,
                                     plan.slack_ms);
    // The probe matters more than the last job (whose capture then waits
    // for the next batch).
    const ExploreJob& last = out->jobs[out->job_count - 1];
    const double freed = out->job_count == kMaxExploreJobs ? static_cast<double>(last.runs) * last.timeout_ms : 0.0;
    if (spent - freed + timeout <= credit) {
      if (out->job_count == kMaxExploreJobs) --out->job_count;
      ExploreJob& j = out->jobs[out->job_count++];
      j = ExploreJob();
      j.capture = i;
      j.pattern_key = s->captures[i].pattern_key;
      j.arm = 0;
      j.runs = 1;
      j.probe = 1;
      j.expected_ms = ProbeExpectedMs(s->captures[i], *d);
      j.timeout_ms = timeout;
    }
  }
  return out->job_count;
}

double RecordLoadProbe(SteerState* s, double latency_ms, double expected_ms, bool timed_out, int64_t now_us) {
  if (!(expected_ms > 0.0) || !(latency_ms >= 0.0)) return s->explore_load;
  double ratio = latency_ms / expected_ms;
  // A cancelled probe only says "at least this slow": at least double the
  // current estimate, so the next timeouts are long enough to measure it.
  if (timed_out) ratio = std::max(ratio, 2.0 * s->explore_load);
  s->explore_load = std::min(std::max(ratio, 1.0), kMaxExploreLoad);
  s->explore_load_us = now_us;
  return s->explore_load;
}

void NoteRunOutcome(CapturedStatement* c, int arm, bool timed_out) {
  if (timed_out) {
    if (c->timeout_arm == arm) {
      if (c->timeout_streak < 1000) ++c->timeout_streak;
    } else {
      c->timeout_arm = arm;
      c->timeout_streak = 1;
    }
  } else if (c->timeout_arm == arm) {
    c->timeout_streak = 0;
  }
}

// --- vector tuning ---------------------------------------------------------------

bool PublishVectorDecisions(SteerState* s, const ruvector_dag::VectorTuningOptions& options) {
  bool changed = DecideVectorPatterns(&s->vector, options) > 0;
  for (const VectorPattern& p : s->vector.patterns) {
    if (p.key == 0) continue;
    Decision* d = FindDecision(s, p.key);
    if (d == nullptr) continue;
    const uint8_t state = p.settled != 0 ? kVectorSettled : kVectorTuning;
    if (d->vector_state != state || d->vector_setting != p.deployed || d->explore_arm > 0 || d->deployed_arm != 0) {
      changed = true;
    }
    d->vector_state = state;
    d->vector_setting = p.deployed;
    // The bandits' arms change plans without measuring recall: a vector
    // pattern neither explores nor serves them.
    d->explore_arm = -1;
    d->deployed_arm = 0;
  }
  return changed;
}

int PlanVectorJobs(SteerState* s, int64_t now_us, const ExplorePlan& plan, ExploreRequest* out) {
  const double load = ClampedLoad(s);
  const double credit = plan.credit_ms > 0.0 ? plan.credit_ms : 1e18;
  double spent = 0.0;
  for (int j = 0; j < out->job_count; ++j) {
    const ExploreJob& job = out->jobs[j];
    int runs = job.runs;
    if (job.vector != 0) runs = 1 + VectorMaskRuns(job.vector_mask);
    spent += static_cast<double>(runs) * job.timeout_ms;
  }
  for (const VectorPattern& p : s->vector.patterns) {
    if (out->job_count >= kMaxExploreJobs) break;
    if (p.key == 0 || p.measure_mask == 0) continue;
    const int slot = FindCapture(s, p.key);
    if (slot < 0) continue;
    CapturedStatement& c = s->captures[slot];
    if (c.unsafe != 0 || c.failures >= kMaxCaptureFailures || c.captured_us <= p.sampled_capture_us) continue;
    const uint32_t database = out->job_count > 0 ? out->database_oid : plan.only_database;
    const uint32_t role = out->job_count > 0 ? out->role_oid : plan.only_role;
    if ((database != 0 || out->job_count > 0) && !OwnedBy(c, database, role)) continue;
    bool queued = false;
    for (int j = 0; j < out->job_count; ++j) queued |= out->jobs[j].pattern_key == p.key;
    if (queued) continue;
    const Decision* d = FindDecision(s, p.key);
    double slowest = d != nullptr ? d->default_ms : 0.0;
    slowest = std::max(slowest, ruvector_dag::MeanLatencyMs(p.stats[ruvector_dag::kVectorExact]));
    for (int i = 0; i < ruvector_dag::kVectorEfCount; ++i) {
      if ((p.measure_mask & (1u << i)) != 0) slowest = std::max(slowest, ruvector_dag::MeanLatencyMs(p.stats[i]));
    }
    if (!(slowest > 0.0)) slowest = 1.0;  // nothing measured yet: the slack decides
    // The exact search can be much slower than the index scan: before it
    // was measured it gets 4x more, and each timeout of it doubles that.
    const ruvector_dag::VectorSettingStats& exact = p.stats[ruvector_dag::kVectorExact];
    double scale = exact.runs == 0 ? 4.0 : 1.0;
    scale *= static_cast<double>(1u << std::min<uint32_t>(exact.timeouts, 6));
    int timeout = TimeoutMs(2.0 * plan.timeout_factor * slowest * load * scale + plan.slack_ms);
    const int runs = 1 + VectorMaskRuns(p.measure_mask);
    // Fit the credit (as PlanExploreBatch does): a shorter timeout, never
    // below min_timeout_factor x the slowest; a sample that cannot fit even
    // the most credit that can be saved up is not planned, and one that does
    // not fit what is left now waits. Without this, a slow search on a
    // loaded server (7 runs x 16 x its latency x load) would never be
    // sampled at all.
    const double remaining = std::min(credit - spent, plan.max_credit_ms > 0.0 ? plan.max_credit_ms : 1e18);
    if (static_cast<double>(runs) * timeout > remaining) {
      const int min_timeout = TimeoutMs(plan.min_timeout_factor * slowest * load + plan.slack_ms);
      const double fit = remaining / static_cast<double>(runs);
      if (fit < static_cast<double>(min_timeout)) continue;
      timeout = static_cast<int>(fit);
    }
    if (out->job_count == 0) {
      out->database_oid = c.database_oid;
      out->role_oid = c.role_oid;
      out->runs_done = out->timeouts = out->errors = 0;
      out->started_us = out->finished_us = 0;
      out->explorer_pid = 0;
    }
    ExploreJob& job = out->jobs[out->job_count++];
    job = ExploreJob();
    job.capture = slot;
    job.pattern_key = p.key;
    job.runs = 1;
    job.timeout_ms = timeout;
    job.vector = 1;
    job.vector_mask = p.measure_mask;
    spent += static_cast<double>(runs) * timeout;
    c.last_explored_us = now_us;
  }
  return out->job_count;
}

}  // namespace ruvector_pg

// --- steering configuration file ---------------------------------------------------

namespace ruvector_pg {
namespace {

constexpr const char* kConfigHeader = "ruvector_dag steering 2\n";
constexpr const char* kConfigHeaderV1 = "ruvector_dag steering 1\n";

bool Plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '=' || c == '-';
}

struct Writer {
  char* out;
  size_t cap;
  size_t len = 0;
  void Put(char c) {
    if (len < cap) out[len] = c;
    ++len;
  }
  void Puts(const char* p) {
    while (*p != '\0') Put(*p++);
  }
};

/// Writes `p` percent-encoded outside Plain(), or "-" when empty.
void PutEncoded(Writer* w, const char* p) {
  if (*p == '\0') {
    w->Put('-');
    return;
  }
  for (; *p != '\0'; ++p) {
    if (Plain(*p)) {
      w->Put(*p);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof(hex), "%%%02X", static_cast<unsigned char>(*p));
      w->Puts(hex);
    }
  }
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Decodes the percent-encoded field l[0, n) into `out` (NUL-terminated,
/// at most cap - 1 bytes). Null on success, else what was wrong.
const char* Decode(const char* l, size_t n, char* out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = l[i];
    if (c == '%') {
      if (i + 2 >= n + 0 || Hex(l[i + 1]) < 0 || Hex(l[i + 2]) < 0) return "bad escape";
      c = static_cast<char>(Hex(l[i + 1]) * 16 + Hex(l[i + 2]));
      i += 2;
    } else if (!Plain(c)) {
      return "bad character";
    }
    if (c == '\0' || o + 1 >= cap) return "field too long";
    out[o++] = c;
  }
  out[o] = '\0';
  return nullptr;
}

/// Parses the hints field of an advice line into *hints (whose kinds come
/// from the advice text): per hint, comma-separated, the relation-set id of
/// a join or scan hint or the RelKeys of LEADING's relations separated by
/// ':'. Null on success, else what was wrong.
const char* ParseHintsField(const char* f, size_t n, const ParsedAdvice& parsed, PinnedHints* hints) {
  char buf[kMaxAdviceHints * 24 + kMaxAdviceRelations * 21];
  if (n >= sizeof(buf)) return "hints field too long";
  std::snprintf(buf, sizeof(buf), "%.*s", static_cast<int>(n), f);
  uint32_t i = 0;
  char* save = nullptr;
  for (char* item = strtok_r(buf, ",", &save); item != nullptr; item = strtok_r(nullptr, ",", &save), ++i) {
    if (i >= hints->count) return "hints disagree with the advice text";
    char* end = nullptr;
    if (hints->kinds[i] == HintKind::kLeading) {
      uint32_t k = 0;
      for (char* key = item;; key = end + 1) {
        if (k >= hints->leading_count) return "hints disagree with the advice text";
        const unsigned long long v = std::strtoull(key, &end, 10);
        if (end == key || v == 0) return "bad relation key";
        hints->leading[k++] = v;
        if (*end != ':') break;
      }
      if (*end != '\0' || k != hints->leading_count) return "hints disagree with the advice text";
    } else {
      const unsigned long v = std::strtoul(item, &end, 10);
      if (end == item || *end != '\0' || v == 0 || v > 0xfffffffful) return "bad relation set";
      if (parsed.hints[i].relation_count == 0 && parsed.hints[i].relset != v) {
        return "hints disagree with the advice text";
      }
      hints->relsets[i] = static_cast<uint32_t>(v);
    }
  }
  if (i != hints->count) return "hints disagree with the advice text";
  return nullptr;
}

/// Parses an "advice ..." line (without "advice ") into *pin; null on
/// success, else what was wrong. The text must parse as advice and agree
/// with the stored settings and relation sets.
const char* ParseAdviceLine(const char* l, size_t n, AdvicePin* pin) {
  *pin = AdvicePin();
  // Five fields, and a sixth when the advice has hints.
  const char* field[6];
  size_t len[6];
  size_t pos = 0;
  int fields = 0;
  for (int f = 0; f < 6 && (f < 5 || pos < n); ++f) {
    if (pos >= n) return "too few fields";
    field[f] = l + pos;
    while (pos < n && l[pos] != ' ') ++pos;
    len[f] = static_cast<size_t>(l + pos - field[f]);
    if (len[f] == 0) return "empty field";
    ++fields;
    if (pos < n) ++pos;
    else if (f < 4) return "too few fields";
  }
  if (pos != n || l[n - 1] == ' ') return "too many fields";
  char num[32];
  if (len[0] >= sizeof(num) || len[1] >= sizeof(num)) return "bad number";
  std::snprintf(num, sizeof(num), "%.*s", static_cast<int>(len[0]), field[0]);
  char* end = nullptr;
  const long long qid = std::strtoll(num, &end, 10);
  if (end == num || *end != '\0' || qid == 0) return "bad query id";
  pin->query_id = static_cast<uint64_t>(qid);
  std::snprintf(num, sizeof(num), "%.*s", static_cast<int>(len[1]), field[1]);
  const unsigned long long db = std::strtoull(num, &end, 10);
  if (end == num || *end != '\0' || db == 0 || db > 0xffffffffull) return "bad database";
  pin->database_oid = static_cast<uint32_t>(db);
  if (!(len[2] == 1 && field[2][0] == '-')) {
    char rows[kMaxAdviceRows * 48];
    if (len[2] >= sizeof(rows)) return "too many relation sets";
    std::snprintf(rows, sizeof(rows), "%.*s", static_cast<int>(len[2]), field[2]);
    char* save = nullptr;
    for (char* item = strtok_r(rows, ",", &save); item != nullptr; item = strtok_r(nullptr, ",", &save)) {
      if (pin->rows_count >= static_cast<uint32_t>(kMaxAdviceRows)) return "too many relation sets";
      unsigned long relset = std::strtoul(item, &end, 10);
      if (end == item || *end != ':' || relset == 0 || relset > 0xfffffffful) return "bad relation set";
      char* rel = end + 1;
      unsigned long relations = std::strtoul(rel, &end, 10);
      if (end == rel || *end != ':' || relations > static_cast<unsigned long>(kMaxAdviceRelations)) {
        return "bad relation count";
      }
      char* fac = end + 1;
      double factor = std::strtod(fac, &end);
      if (end == fac || *end != '\0' || !(factor >= kMinAdviceFactor && factor <= kMaxAdviceFactor)) {
        return "bad factor";
      }
      pin->relsets[pin->rows_count] = static_cast<uint32_t>(relset);
      pin->relation_counts[pin->rows_count] = static_cast<uint32_t>(relations);
      pin->factors[pin->rows_count] = factor;
      ++pin->rows_count;
    }
  }
  if (!(len[3] == 1 && field[3][0] == '-')) {
    if (const char* bad = Decode(field[3], len[3], pin->settings, sizeof(pin->settings))) return bad;
  }
  if (const char* bad = Decode(field[4], len[4], pin->text, sizeof(pin->text))) return bad;
  static ParsedAdvice parsed;
  char error[160];
  if (!ParseAdvice(pin->text, std::strlen(pin->text), &parsed, error, sizeof(error))) return "advice text does not parse";
  static char lines[kArmSettingsLen];
  if (!AdviceSettingsLines(parsed, lines, sizeof(lines)) || std::strcmp(lines, pin->settings) != 0) {
    return "settings disagree with the advice text";
  }
  if (static_cast<uint32_t>(parsed.rows_count) != pin->rows_count) return "relation sets disagree with the advice text";
  for (int i = 0; i < parsed.rows_count; ++i) {
    if (parsed.rows[i].factor != pin->factors[i] ||
        static_cast<uint32_t>(parsed.rows[i].relation_count) != pin->relation_counts[i] ||
        (parsed.rows[i].relation_count == 0 && parsed.rows[i].relset != pin->relsets[i])) {
      return "relation sets disagree with the advice text";
    }
  }
  HintsOfAdvice(parsed, &pin->hints);
  if ((fields == 6) != (parsed.hint_count > 0)) return "hints disagree with the advice text";
  if (fields == 6) return ParseHintsField(field[5], len[5], parsed, &pin->hints);
  return nullptr;
}

}  // namespace

size_t SteerConfigImage(const SteerState* s, char* out, size_t cap) {
  Writer w{out, cap};
  w.Puts(kConfigHeader);
  for (uint32_t i = 0; i < s->arm_count; ++i) {
    const ArmDef& a = s->arms[i];
    if (a.builtin != 0) continue;
    w.Puts("arm ");
    w.Puts(a.name);
    w.Put(' ');
    PutEncoded(&w, a.settings);
    w.Put('\n');
  }
  for (const Pin& p : s->pins) {
    if (p.query_id == 0 || p.arm < 0 || static_cast<uint32_t>(p.arm) >= s->arm_count) continue;
    char line[64];
    std::snprintf(line, sizeof(line), "pin %lld ", static_cast<long long>(p.query_id));
    w.Puts(line);
    w.Puts(s->arms[p.arm].name);
    if (p.database_oid != 0) {
      std::snprintf(line, sizeof(line), " %u", p.database_oid);
      w.Puts(line);
    }
    w.Put('\n');
  }
  for (const AdvicePin& p : s->advice_pins) {
    if (p.query_id == 0) continue;
    char line[64];
    std::snprintf(line, sizeof(line), "advice %lld %u ", static_cast<long long>(p.query_id), p.database_oid);
    w.Puts(line);
    if (p.rows_count == 0) w.Put('-');
    for (uint32_t i = 0; i < p.rows_count && i < static_cast<uint32_t>(kMaxAdviceRows); ++i) {
      std::snprintf(line, sizeof(line), "%s%u:%u:%.17g", i == 0 ? "" : ",", p.relsets[i], p.relation_counts[i],
                    p.factors[i]);
      w.Puts(line);
    }
    w.Put(' ');
    PutEncoded(&w, p.settings);
    w.Put(' ');
    PutEncoded(&w, p.text);
    for (uint32_t i = 0; i < p.hints.count && i < static_cast<uint32_t>(kMaxAdviceHints); ++i) {
      w.Put(i == 0 ? ' ' : ',');
      if (p.hints.kinds[i] == HintKind::kLeading) {
        for (uint32_t k = 0; k < p.hints.leading_count && k < static_cast<uint32_t>(kMaxAdviceRelations); ++k) {
          std::snprintf(line, sizeof(line), "%s%llu", k == 0 ? "" : ":",
                        static_cast<unsigned long long>(p.hints.leading[k]));
          w.Puts(line);
        }
      } else {
        std::snprintf(line, sizeof(line), "%u", p.hints.relsets[i]);
        w.Puts(line);
      }
    }
    w.Put('\n');
  }
  const uint32_t crc = ruvector_dag::Crc32c(out, w.len <= cap ? w.len : 0);
  char tail[32];
  std::snprintf(tail, sizeof(tail), "crc %08x\n", crc);
  w.Puts(tail);
  return w.len;
}

bool LoadSteerConfig(const char* text, size_t len, SteerState* s, char* error, size_t error_cap,
                     int* arms_loaded, int* pins_loaded) {
  auto fail = [&](const char* msg, int line) {
    if (line > 0) {
      std::snprintf(error, error_cap, "line %d: %s", line, msg);
    } else {
      std::snprintf(error, error_cap, "%s", msg);
    }
    return false;
  };
  const size_t hlen = std::strlen(kConfigHeader);
  // Version 1 is version 2 without advice lines: its arms and pins load
  // as they are (the next save writes version 2).
  const bool v1 = len >= hlen && std::memcmp(text, kConfigHeaderV1, hlen) == 0;
  if (!v1 && (len < hlen || std::memcmp(text, kConfigHeader, hlen) != 0)) {
    return fail("not a steering file (bad header)", 1);
  }
  // The checksum line is the last one.
  if (len < 2 || text[len - 1] != '\n') return fail("truncated (no final newline)", 0);
  size_t last = len - 1;
  while (last > 0 && text[last - 1] != '\n') --last;
  if (len - last != 13 || std::strncmp(text + last, "crc ", 4) != 0) return fail("missing checksum line", 0);
  char crc_hex[9];
  std::memcpy(crc_hex, text + last + 4, 8);
  crc_hex[8] = '\0';
  char* end = nullptr;
  const unsigned long want = std::strtoul(crc_hex, &end, 16);
  if (end != crc_hex + 8 || ruvector_dag::Crc32c(text, last) != static_cast<uint32_t>(want)) {
    return fail("checksum mismatch", 0);
  }
  // Parse into a scratch copy of the arm table first.
  struct Parsed {
    char name[kArmNameLen];
    char settings[kArmSettingsLen];
  };
  static Parsed arms[kMaxArms];
  static uint64_t pin_ids[kMaxPins];
  static uint32_t pin_dbs[kMaxPins];
  static char pin_arms[kMaxPins][kArmNameLen];
  static AdvicePin advice[kMaxAdvicePins];
  int narms = 0, npins = 0, nadvice = 0;
  int line_no = 1;
  size_t pos = hlen;
  while (pos < last) {
    ++line_no;
    size_t eol = pos;
    while (eol < last && text[eol] != '\n') ++eol;
    const char* l = text + pos;
    const size_t n = eol - pos;
    if (n > 4 && std::strncmp(l, "arm ", 4) == 0) {
      if (narms >= kMaxArms) return fail("too many arms", line_no);
      size_t sp = 4;
      while (sp < n && l[sp] != ' ') ++sp;
      const size_t name_len = sp - 4;
      if (name_len == 0 || name_len >= static_cast<size_t>(kArmNameLen) || sp >= n) return fail("bad arm line", line_no);
      Parsed& a = arms[narms];
      std::memcpy(a.name, l + 4, name_len);
      a.name[name_len] = '\0';
      for (size_t i = 0; i < name_len; ++i) {
        const char c = a.name[i];
        if (!(Plain(c) && c != '=')) return fail("bad arm name", line_no);
      }
      if (const char* bad = Decode(l + sp + 1, n - sp - 1, a.settings, sizeof(a.settings))) {
        char msg[64];
        std::snprintf(msg, sizeof(msg), "arm settings: %s", bad);
        return fail(msg, line_no);
      }
      const size_t o = std::strlen(a.settings);
      if (o == 0 || a.settings[o - 1] != '\n' || std::strchr(a.settings, '=') == nullptr) {
        return fail("arm settings are not name=value lines", line_no);
      }
      ++narms;
    } else if (n > 4 && std::strncmp(l, "pin ", 4) == 0) {
      if (npins >= kMaxPins) return fail("too many pins", line_no);
      char buf[128];
      if (n >= sizeof(buf)) return fail("bad pin line", line_no);
      std::memcpy(buf, l, n);
      buf[n] = '\0';
      char* p = buf + 4;
      char* num_end = nullptr;
      const long long qid = std::strtoll(p, &num_end, 10);
      if (num_end == p || *num_end != ' ' || qid == 0) return fail("bad pin query id", line_no);
      char* arm = num_end + 1;
      uint32_t database = 0;
      if (char* sp = std::strchr(arm, ' ')) {
        *sp = '\0';
        char* db_end = nullptr;
        const unsigned long long db = std::strtoull(sp + 1, &db_end, 10);
        if (db_end == sp + 1 || *db_end != '\0' || db == 0 || db > 0xffffffffull) return fail("bad pin database", line_no);
        database = static_cast<uint32_t>(db);
      }
      if (*arm == '\0' || std::strlen(arm) >= static_cast<size_t>(kArmNameLen)) return fail("bad pin arm", line_no);
      pin_ids[npins] = static_cast<uint64_t>(qid);
      pin_dbs[npins] = database;
      std::snprintf(pin_arms[npins], kArmNameLen, "%s", arm);
      ++npins;
    } else if (!v1 && n > 7 && std::strncmp(l, "advice ", 7) == 0) {
      if (nadvice >= kMaxAdvicePins) return fail("too many pinned advice lines", line_no);
      if (const char* bad = ParseAdviceLine(l + 7, n - 7, &advice[nadvice])) {
        char msg[96];
        std::snprintf(msg, sizeof(msg), "bad advice line: %s", bad);
        return fail(msg, line_no);
      }
      for (int i = 0; i < nadvice; ++i) {
        if (advice[i].query_id == advice[nadvice].query_id && advice[i].database_oid == advice[nadvice].database_oid) {
          return fail("advice pinned twice for one query", line_no);
        }
      }
      ++nadvice;
    } else {
      return fail("unknown line", line_no);
    }
    pos = eol + 1;
  }
  // Validate names against the built-ins and each other before applying.
  for (int i = 0; i < narms; ++i) {
    if (FindArm(s, arms[i].name) >= 0 && s->arms[FindArm(s, arms[i].name)].builtin != 0) {
      return fail("a custom arm has a built-in arm's name", 0);
    }
    for (int j = 0; j < i; ++j) {
      if (std::strcmp(arms[i].name, arms[j].name) == 0) return fail("duplicate arm", 0);
    }
  }
  for (int i = 0; i < npins; ++i) {
    bool known = false;
    for (uint32_t a = 0; a < s->arm_count && !known; ++a) {
      known = s->arms[a].builtin != 0 && std::strcmp(s->arms[a].name, pin_arms[i]) == 0;
    }
    for (int a = 0; a < narms && !known; ++a) known = std::strcmp(arms[a].name, pin_arms[i]) == 0;
    if (!known) return fail("a pin names an unknown arm", 0);
  }
  // Apply: drop the current custom arms and pins, then add.
  while (s->arm_count > 0 && s->arms[s->arm_count - 1].builtin == 0) RemoveArm(s, static_cast<int>(s->arm_count) - 1);
  for (Pin& p : s->pins) p = Pin();
  for (int i = 0; i < narms; ++i) AddArm(s, arms[i].name, arms[i].settings);
  for (int i = 0; i < npins; ++i) SetPin(s, pin_ids[i], FindArm(s, pin_arms[i]), pin_dbs[i]);
  for (AdvicePin& p : s->advice_pins) p = AdvicePin();
  for (int i = 0; i < nadvice; ++i) SetAdvicePin(s, advice[i]);
  RebuildQueryFilter(s);
  *arms_loaded = narms;
  *pins_loaded = npins + nadvice;
  return true;
}

}  // namespace ruvector_pg
