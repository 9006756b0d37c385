// PG zone (worker only): feeds the row-correction learner
// (row_corrections.h) from the learning pass and publishes its corrections
// to the planner's shared table (planner/corrections.h). Include after
// shim.h.
#ifndef RUVECTOR_PG_WORKER_ROW_CORRECTIONS_HOST_H_
#define RUVECTOR_PG_WORKER_ROW_CORRECTIONS_HOST_H_

#include "state/shared_state.h"
#include "state/steer_state.h"

namespace ruvector_pg {

/// Keeps what the learner needs of one trajectory (sampled row counts of
/// scan and join nodes, not planned under the row_corrections arm) in a
/// fixed buffer: no allocation, no error (called while the ring is read
/// under the state lock). At most a fixed number per pass; the rest wait for
/// later samples of their patterns.
void CollectRowSample(const TrajectoryRecord& r);
/// Whether this pass's buffer of row samples is full (CollectRowSample keeps
/// nothing more): a reader can skip copying the rows.
bool RowSamplesFull();
/// Patterns whose relations a drift notice names forget their corrections
/// (their estimates change) at the next LearnRowCorrections.
void NoteRowCorrectionDrift(const DriftNotice* notices, int count);
/// Forgets every correction (learning was reset); published at the next
/// LearnRowCorrections.
void ResetRowCorrections();
/// Learns from the collected samples and, when the corrections changed,
/// publishes them. A failure is logged; learning carries on.
void LearnRowCorrections(int64_t now_us);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_WORKER_ROW_CORRECTIONS_HOST_H_
