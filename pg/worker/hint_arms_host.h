// PG zone (worker only): feeds the hint-arm learner (hint_arms.h) from the
// learning pass, restarts a hint arm's measurement for a pattern whose hint
// changed, and publishes the hints to the planner's shared table
// (planner/learned_hints.h). Include after shim.h.
#ifndef RUVECTOR_PG_WORKER_HINT_ARMS_HOST_H_
#define RUVECTOR_PG_WORKER_HINT_ARMS_HOST_H_

#include <vector>

#include "ruvector_dag/engine.h"
#include "state/shared_state.h"
#include "state/steer_state.h"

namespace ruvector_pg {

/// Whether the learner wants the row counts of this record (its header
/// suffices): an execution of the pattern's default plan -- arm 0, or an
/// arm whose plan was the default's -- with measured rows, while this pass's
/// buffer has room.
bool WantHintSample(const TrajectoryRecord& header);
/// Keeps what the learner needs of one full record WantHintSample accepted,
/// in a fixed buffer: no allocation, no error (called while the ring is read
/// under the state lock).
void CollectHintSample(const TrajectoryRecord& r);
/// Whether a run of a hint arm was recorded before that pattern's hint last
/// changed: it measured another hint, and the bandit must not learn from it.
/// (A run planned before the change and finished after it is not caught:
/// plans carry no hint version.)
bool HintRunIsStale(const TrajectoryRecord& header);
/// Patterns whose relations a drift notice names forget their hints at the
/// next LearnHintArms.
void NoteHintArmDrift(const DriftNotice* notices, int count);
/// Forgets every hint (learning was reset); published at the next LearnHintArms.
void ResetHintArms();
/// Learns from the collected samples; for every pattern whose hint changed,
/// makes `engine` forget the hint arm's runs (its decision is appended to
/// *updates, for this pass to publish) and marks older runs stale; publishes
/// the hints when they changed. A failure is logged; learning carries on.
void LearnHintArms(int64_t now_us, ruvector_dag::Engine* engine, std::vector<ruvector_dag::PatternDecision>* updates);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_WORKER_HINT_ARMS_HOST_H_
