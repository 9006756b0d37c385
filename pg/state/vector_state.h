// Vector tuning state in shared memory, as plain data (docs/vector.md,
// "Learned ef_search"): per vector query pattern (a plan with an ruhnsw
// index scan under a LIMIT) the recall and latency measured by the
// background explorer for each candidate setting, the statements already
// sampled, and the decision (ruvector_dag/vector_tuning.h).
//
// No PostgreSQL headers; the caller holds the steering LWLock (the table is
// part of SteerState).
#ifndef RUVECTOR_PG_STATE_VECTOR_STATE_H_
#define RUVECTOR_PG_STATE_VECTOR_STATE_H_

#include <cstddef>
#include <cstdint>

#include "ruvector_dag/vector_tuning.h"

namespace ruvector_pg {

inline constexpr int kVectorPatternSlots = 128;
/// Hashes of the statements (text and parameters) sampled last: a statement
/// seen again adds no recall sample (its recall would be the same).
inline constexpr int kVectorSeenStatements = 32;
/// Rows of one result compared at most (a LIMIT above this is not tuned).
inline constexpr int kVectorMaxRows = 1000;
/// While a pattern is being tuned its capture is refreshed this often (a
/// new statement is a new recall sample); afterwards as other captures.
inline constexpr int64_t kVectorCaptureRefreshUs = 1000000;

/// Decision::vector_state.
inline constexpr uint8_t kVectorNone = 0;     // not a vector pattern
inline constexpr uint8_t kVectorTuning = 1;   // collecting samples
inline constexpr uint8_t kVectorSettled = 2;  // decided (deployed may be -1)

struct VectorPattern {
  uint64_t key = 0;  // pattern key; 0 = empty
  uint64_t query_id = 0;
  uint32_t database_oid = 0;
  uint32_t role_oid = 0;
  int64_t created_us = 0;
  int64_t sampled_us = 0;             // last sample (0 = never)
  int64_t sampled_capture_us = 0;     // captured_us of the capture sampled last
  uint32_t k = 0;                     // rows of the latest exact result
  uint32_t oversized = 0;             // exact results with more than kVectorMaxRows rows
  uint32_t empty = 0;                 // exact results without rows (no sample)
  uint64_t seen[kVectorSeenStatements] = {0};
  uint32_t seen_next = 0;
  ruvector_dag::VectorSettingStats stats[ruvector_dag::kVectorSettingCount];
  // The decision as of the last pass (DecideVectorSetting).
  int32_t deployed = -1;
  uint32_t measure_mask = 0;
  uint8_t settled = 0;
  double target = 0.0;  // the target it was decided for
};

struct VectorTable {
  VectorPattern patterns[kVectorPatternSlots];
  uint64_t samples = 0;  // recall samples taken (all patterns)
};

/// The number of settings in a measure mask (runs of a sample besides the
/// exact one).
inline int VectorMaskRuns(uint32_t mask) {
  int n = 0;
  for (; mask != 0; mask &= mask - 1) ++n;
  return n;
}

/// Whether a settled pattern still measures settings besides the deployed
/// one (they may prove the target: DecideVectorSetting).
inline bool VectorProving(const VectorPattern& p) {
  const uint32_t deployed = p.deployed >= 0 && p.deployed < ruvector_dag::kVectorEfCount ? 1u << p.deployed : 0u;
  return p.settled != 0 && (p.measure_mask & ~deployed) != 0;
}

VectorPattern* FindVectorPattern(VectorTable* t, uint64_t key);
const VectorPattern* FindVectorPattern(const VectorTable* t, uint64_t key);
/// Finds or adds the pattern; a full table replaces the entry sampled least
/// recently (never fails).
VectorPattern* AddVectorPattern(VectorTable* t, uint64_t key, uint64_t query_id, uint32_t database_oid,
                                uint32_t role_oid, int64_t now_us);
/// Whether statement `hash` was sampled recently; remembers it when not.
bool VectorStatementSeen(VectorPattern* p, uint64_t hash);

/// One measured setting of a sample.
struct VectorRunResult {
  int setting = 0;        // 0..kVectorSettingCount-1
  bool timed_out = false;
  double ms = 0.0;        // executor time of a completed run
  uint32_t hits = 0;      // rows of the exact result it returned
};
/// Records a sample: the exact run (k rows, `exact_ms`; `exact_timed_out`
/// = no reference, so no recall sample) and the candidates' runs.
void RecordVectorSample(VectorPattern* p, uint32_t k, double exact_ms, bool exact_timed_out,
                        const VectorRunResult* runs, int run_count, int64_t now_us);
/// Re-decides every pattern for `options`; returns how many decisions
/// (deployed setting or state) changed.
int DecideVectorPatterns(VectorTable* t, const ruvector_dag::VectorTuningOptions& options);
/// Forgets every pattern (dag_reset_learning, an arm change).
void ClearVectorTable(VectorTable* t);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_STATE_VECTOR_STATE_H_
