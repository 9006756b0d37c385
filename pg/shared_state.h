// The extension's shared-memory state as plain data, and the algorithms on
// it (pattern table, trajectory ring, persistence image). No PostgreSQL
// headers: the PG zone (shmem.cc) places this in shared memory and holds the
// lock around every call; nothing here locks, allocates or throws.
//
// Layout of the region: SharedState header, then the pattern slots
// (slot_count, a power of two, open addressing with linear probing and
// backward-shift deletion), then the trajectory ring (ring_capacity
// records). Persistence image format: docs/postgres.md, "State file".
#ifndef RUVECTOR_PG_SHARED_STATE_H_
#define RUVECTOR_PG_SHARED_STATE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "ruvector_dag/status.h"

namespace ruvector_pg {

/// Per-node arrays kept in a trajectory record.
inline constexpr int kMaxTrajectoryNodes = 64;

/// One executed statement.
struct TrajectoryRecord {
  uint64_t seq = 0;  // 1, 2, ...; 0 = empty slot
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
  uint64_t shape_hash = 0;
  int64_t recorded_at_us = 0;  // Unix epoch microseconds
  double latency_ms = 0.0;     // executor run time of the statement
  uint32_t param_bucket = 0;
  uint32_t database_oid = 0;   // where and by whom it ran (row visibility)
  uint32_t role_oid = 0;
  uint64_t relation_mask = 0;  // RelationMaskBit of every relation the plan reads (drift scope)
  uint16_t node_count = 0;     // plan nodes (may exceed kMaxTrajectoryNodes)
  uint16_t flags = 0;          // kTrajectory* bits
  uint8_t node_type[kMaxTrajectoryNodes] = {0};
  float estimated_rows[kMaxTrajectoryNodes] = {0};
  float actual_rows[kMaxTrajectoryNodes] = {0};  // per loop; -1 = not executed
  /// The plan's edges: 0 = no consumer (the top node), k + 1 = the node at
  /// index k (nodes are in pre-order, so k < the node's own index).
  uint8_t parent_plus_one[kMaxTrajectoryNodes] = {0};
};
inline constexpr uint16_t kTrajectoryTruncated = 1;  // more nodes than kMaxTrajectoryNodes
inline constexpr uint16_t kTrajectoryNested = 2;     // run inside another statement (SPI, ...)
inline constexpr uint16_t kTrajectoryParallel = 4;   // plan has Gather / Gather Merge

/// Per-pattern statistics.
struct PatternEntry {
  uint64_t key = 0;  // 0 = empty slot
  uint64_t query_id = 0;
  uint64_t shape_hash = 0;  // shape of the most recent plan
  uint32_t param_bucket = 0;
  uint32_t node_count = 0;
  uint32_t database_oid = 0;  // the database and role whose executions these are
  uint32_t role_oid = 0;
  uint64_t executions = 0;
  uint64_t shape_changes = 0;  // times the plan shape differed from the previous run
  double mean_ms = 0.0;
  double m2 = 0.0;  // Welford sum of squared deviations
  double min_ms = 0.0;
  double max_ms = 0.0;
  double last_ms = 0.0;
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;
};

/// Counters (monotonic except after dag_reset_stats).
struct SharedCounters {
  uint64_t plans_observed = 0;
  uint64_t plans_known_pattern = 0;  // planned with a pattern already in the table
  uint64_t executions_observed = 0;
  uint64_t trajectories_written = 0;
  uint64_t trajectories_dropped = 0;  // overwritten in the ring before being read by a learner
  uint64_t patterns_evicted = 0;
  uint64_t internal_errors = 0;  // extension errors that fell back to PostgreSQL's behaviour
  uint64_t state_saves = 0;
  int64_t last_save_us = 0;
  int64_t started_at_us = 0;
};

/// Outcome of loading the state file at startup.
enum class LoadResult : uint32_t { kNotAttempted = 0, kLoaded, kNoFile, kCorrupt, kIncompatible };
const char* LoadResultName(LoadResult r);

struct SharedState {
  uint64_t magic = 0;
  uint32_t slot_count = 0;     // power of two >= 2 * max_patterns
  uint32_t max_patterns = 0;   // bound on live entries
  uint32_t pattern_count = 0;
  uint32_t ring_capacity = 0;
  uint64_t ring_next_seq = 1;  // seq of the next record written
  uint64_t ring_consumed_seq = 0;  // records with seq <= this were consumed by a learner
  SharedCounters counters;
  LoadResult load_result = LoadResult::kNotAttempted;
  char load_message[256] = {0};
  int64_t last_load_us = 0;
  int32_t worker_pid = 0;
  int64_t worker_heartbeat_us = 0;
  uint64_t generation = 0;  // bumped by reset/import
  // Saves of the extension's files that failed (dag_health_check).
  uint64_t save_failures = 0;
  int64_t last_save_failure_us = 0;
  char save_failure[256] = {0};
};

/// Bytes needed for a region holding `max_patterns` and `ring_capacity`.
size_t SharedStateSize(uint32_t max_patterns, uint32_t ring_capacity);
/// Initializes a zeroed region of SharedStateSize bytes.
void InitSharedState(void* region, uint32_t max_patterns, uint32_t ring_capacity, int64_t now_us);

PatternEntry* PatternSlots(SharedState* s);
const PatternEntry* PatternSlots(const SharedState* s);
TrajectoryRecord* RingSlots(SharedState* s);
const TrajectoryRecord* RingSlots(const SharedState* s);

/// Finds a pattern (nullptr when absent). O(1) expected.
const PatternEntry* FindPattern(const SharedState* s, uint64_t key);
/// Records one execution of pattern `key` (inserting it, evicting the
/// least recently seen entry when the table is full: O(slots) then).
void RecordExecution(SharedState* s, uint64_t key, uint64_t query_id, uint64_t shape_hash,
                     uint32_t param_bucket, uint32_t node_count, double latency_ms, int64_t now_us);
/// Appends to the ring, overwriting the oldest record when full (counted as
/// dropped when no learner consumed it). Assigns record.seq.
void AppendTrajectory(SharedState* s, const TrajectoryRecord& record);
/// Records still in the ring, oldest first: [first_seq, next_seq).
uint64_t RingFirstSeq(const SharedState* s);
/// The record with `seq`, or nullptr when it was overwritten / not written.
const TrajectoryRecord* RingRecord(const SharedState* s, uint64_t seq);
/// Removes every pattern and trajectory and zeroes the counters (keeps the
/// start time, load result and worker fields).
void ResetSharedState(SharedState* s);

/// Size of the versioned, checksummed image of patterns, ring and counters
/// (the state file and dag_export_state format).
size_t SerializedSize(const SharedState* s);
/// Writes the image into `out` (exactly SerializedSize(s) bytes). No
/// allocation: the PG zone may call it under its lock with palloc'd memory.
void SerializeInto(const SharedState* s, int64_t now_us, char* out);
/// Validates `bytes` completely (magic, version, sizes, CRC-32C, every
/// entry) and only then replaces the contents of `s`; on error `s` is
/// untouched. Patterns beyond s->max_patterns keep the most recently seen;
/// ring records beyond s->ring_capacity keep the newest.
ruvector_dag::Status DeserializeState(std::string_view bytes, SharedState* s, size_t* patterns_loaded,
                                      size_t* trajectories_loaded);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_SHARED_STATE_H_
