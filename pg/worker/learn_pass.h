// PG zone: the background worker's learning pass (learn_pass.cc). Include
// after shim.h.
#ifndef RUVECTOR_PG_WORKER_LEARN_PASS_H_
#define RUVECTOR_PG_WORKER_LEARN_PASS_H_

#include <cstdint>
#include <vector>

namespace ruvector_dag {
class Engine;
}

namespace ruvector_pg {

/// Worker: the learning loop's engine (null before the first pass; replaced
/// when learning restarts).
ruvector_dag::Engine* LearnerEngine();

/// Worker: writes the bandits to $PGDATA/ruvector_dag.learner (loaded at the
/// next worker start when the arm table is unchanged). Logs at `elevel` on
/// failure.
bool PersistLearner(int elevel);

/// Worker, after a configuration reload: the running value models learn at
/// the new ruvector.dag_learning_rate and ruvector.sona_ewc_lambda from
/// their next step (logged); a new sona_micro_lora_rank or
/// sona_pattern_clusters is logged as waiting for the next engine (learning
/// reset, arm change, restart).
void ApplyModelSettings();

/// Worker: the next learning pass publishes these patterns' decisions again
/// (changed outside a pass: a network prior, a validation quota; unknown
/// keys are skipped).
void RefreshDecisions(const std::vector<uint64_t>& pattern_keys);

/// The worker's learning step: drains up to `max_records` new trajectories
/// into the bandits and publishes decisions and events. Returns the number of
/// ring records examined.
int LearnStep(int max_records);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_WORKER_LEARN_PASS_H_
