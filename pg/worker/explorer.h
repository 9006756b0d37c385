// PG zone: background exploration (explorer.cc). Include after shim.h.
#ifndef RUVECTOR_PG_WORKER_EXPLORER_H_
#define RUVECTOR_PG_WORKER_EXPLORER_H_

#include <cstdint>

namespace ruvector_pg {

extern double g_explore_cpu_budget;  // ruvector.dag_exploration_cpu_budget
extern double g_explore_min_ms;      // ruvector.dag_exploration_min_ms
extern double g_explore_horizon_s;   // ruvector.dag_exploration_horizon (seconds)
/// In an explorer process: the arm steerable statements are planned with
/// while it re-executes one (-1 = none).
extern int g_forced_arm;
/// In an explorer process: planner settings ("name=value\n" lines) applied
/// on top of g_forced_arm's when it plans that statement (a vector search
/// setting of a recall sample), nullptr = none. Cleared with g_forced_arm.
extern const char* g_forced_settings;
/// This process is an explorer (its statements are not captured).
extern bool g_in_explorer;
/// Executor end hook, after the executor ended (outside the statement's
/// parallel mode): captures the statement (its text and parameters) when
/// the learner wants to explore its pattern and holds no recent capture.
/// `reference_ms`: the execution's executor time when it ran the default
/// plan (0 otherwise), the yardstick of load probes on the capture.
/// `split_key`: CapturedStatement::split_key (0 = none).
void MaybeCaptureStatement(QueryDesc* qd, uint64_t pattern_key, uint64_t query_id, double reference_ms = 0.0,
                           uint64_t split_key = 0);
/// Worker loop: reaps a finished explorer and, within the CPU budget, plans
/// the next batch and starts an explorer process for it.
void ExplorerTick();
/// Worker shutdown: terminates a running explorer.
void StopExplorer();
extern "C" PGDLLEXPORT void ruvector_dag_explorer_main(Datum arg);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_WORKER_EXPLORER_H_
