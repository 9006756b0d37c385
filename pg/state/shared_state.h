// The extension's shared-memory state as plain data, and the algorithms on
// it (pattern table, trajectory ring, persistence image). No PostgreSQL
// headers: the PG zone (shmem.cc) places this in shared memory and holds the
// state LWLock around every call (shared or exclusive, see below); nothing
// here allocates or throws, and the only locks taken here are the per-pattern
// spinlocks of the statistics.
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
/// Relation OIDs kept in a trajectory record (the drift scope of its pattern).
inline constexpr int kMaxTrajectoryRelations = 16;

/// One executed statement.
struct TrajectoryRecord {
  uint64_t seq = 0;  // 1, 2, ...; 0 = empty slot
  uint64_t pattern_key = 0;
  uint64_t query_id = 0;
  uint64_t shape_hash = 0;
  /// PlanSnapshot::constants_hash of the default plan (0 = no constants):
  /// lets the learner see whether the constants explain a pattern's spread.
  uint64_t constants_hash = 0;
  int64_t recorded_at_us = 0;  // Unix epoch microseconds
  double latency_ms = 0.0;     // executor run time of the statement
  uint32_t param_bucket = 0;
  /// The relations the plan reads (PostgreSQL's plan-invalidation list),
  /// ascending: the first kMaxTrajectoryRelations of relation_count.
  uint32_t relations[kMaxTrajectoryRelations] = {0};
  uint16_t relation_count = 0;
  uint16_t node_count = 0;     // plan nodes (may exceed kMaxTrajectoryNodes)
  uint16_t flags = 0;          // kTrajectory* bits
  uint32_t database_oid = 0;   // database the statement ran in
  uint32_t role_oid = 0;       // role it ran as (GetUserId())
  /// Earlier runs of the same plan by the same backend that this record
  /// stands for besides its own (a steady pattern's runs between two
  /// records, docs/postgres.md "Steady patterns"), and their summed
  /// latency: run counts and time at stake stay exact although not every
  /// run has a record. 0 and 0.0 for a record of one run.
  uint32_t also_runs = 0;
  double also_latency_ms = 0.0;
  uint8_t node_type[kMaxTrajectoryNodes] = {0};
  float estimated_rows[kMaxTrajectoryNodes] = {0};
  float actual_rows[kMaxTrajectoryNodes] = {0};  // per loop; -1 = not executed
  /// The plan's edges: 0 = no consumer (the top node), k + 1 = the node at
  /// index k (nodes are in pre-order, so k < the node's own index).
  uint8_t parent_plus_one[kMaxTrajectoryNodes] = {0};
  /// Per node: the relation set its rows cover (worker/row_corrections.h;
  /// 0 = not a scan or join of plain tables) and how many relations.
  uint32_t relset[kMaxTrajectoryNodes] = {0};
  uint8_t relset_size[kMaxTrajectoryNodes] = {0};
};
inline constexpr uint16_t kTrajectoryTruncated = 1;  // more nodes than kMaxTrajectoryNodes
inline constexpr uint16_t kTrajectoryNested = 2;     // run inside another statement (SPI, ...)
inline constexpr uint16_t kTrajectoryParallel = 4;   // plan has Gather / Gather Merge
/// A node may stop before reading all its input (PlanSnapshot::may_stop_early).
inline constexpr uint16_t kTrajectoryMayStopEarly = 8192;
/// The execution measured its plan's actual rows (a sampled execution):
/// actual_rows holds them (-1 for a node that did not run).
inline constexpr uint16_t kTrajectoryRowsMeasured = 16384;
/// A record's fields up to its per-node arrays (seq, keys, latency, flags,
/// owner, relations): what CopyRingHeaderAt copies.
inline constexpr size_t kTrajectoryHeaderBytes = offsetof(TrajectoryRecord, node_type);
/// The pattern is a statement's constants' (PlanIdentity::by_constants).
inline constexpr uint16_t kTrajectoryByConstants = 4096;

/// Per-pattern statistics. The key scopes a statement to its database and
/// role (docs/postgres.md, "Pattern identity").
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
  /// Time at stake: the sum of the pattern's latencies, halved every
  /// kValueHalfLifeUs, as of value_at_us. Admission and eviction keep the
  /// patterns with the most of it (docs/postgres.md, "The pattern table").
  double value_ms = 0.0;
  int64_t value_at_us = 0;
  /// Spinlock of the statistics above while backends update them under the
  /// shared lock (0 = free; always 0 in images).
  uint32_t mutex = 0;
  uint32_t reserved = 0;
};

/// Half-life of PatternEntry::value_ms.
inline constexpr int64_t kValueHalfLifeUs = 3600LL * 1000000LL;

/// One execution to record (RecordExecution / UpdatePattern / InsertPattern),
/// or `runs` executions of one pattern at once: latency_ms is the last
/// one's; the batch fields describe all of them (runs = 1: just that one).
struct ExecutionSample {
  uint64_t key = 0;
  uint64_t query_id = 0;
  uint64_t shape_hash = 0;
  uint32_t param_bucket = 0;
  uint32_t node_count = 0;
  uint32_t database_oid = 0;
  uint32_t role_oid = 0;
  double latency_ms = 0.0;
  int64_t now_us = 0;
  uint32_t runs = 1;
  /// With runs > 1: the runs' summed latency, the sum of their squared
  /// deviations from their mean, their minimum and maximum (latency_ms is
  /// one of them).
  double batch_sum_ms = 0.0;
  double batch_m2 = 0.0;
  double batch_min_ms = 0.0;
  double batch_max_ms = 0.0;
};

/// Patterns held by one role or one database (for the share limit).
struct OwnerCount {
  uint32_t oid = 0;
  uint32_t count = 0;  // 0 = free slot
};
inline constexpr int kOwnerSlots = 128;

/// Counters (monotonic except after dag_reset_stats).
struct SharedCounters {
  uint64_t plans_observed = 0;
  uint64_t plans_known_pattern = 0;  // planned with a pattern already in the table
  uint64_t executions_observed = 0;
  uint64_t trajectories_written = 0;
  uint64_t trajectories_dropped = 0;  // overwritten in the ring before being read by a learner
  uint64_t patterns_evicted = 0;
  uint64_t patterns_refused = 0;  // new patterns not admitted: their role/database held its share
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
  uint64_t ring_consumed_seq = 0;  // records with seq <= this were consumed by a learner
  // Every execution reads the fields above and writes the two below: they
  // start a cache line of their own, so that one backend's writes do not
  // evict the read-mostly fields from the other cores' caches.
  alignas(64) uint64_t ring_next_seq = 1;  // seq of the next record written
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
  uint64_t sample_rng = 0;  // eviction sampling (exclusive lock)
  OwnerCount roles[kOwnerSlots];      // patterns per role (exclusive lock)
  OwnerCount databases[kOwnerSlots];  // patterns per database (exclusive lock)
};

/// Bytes needed for a region holding `max_patterns` and `ring_capacity`.
size_t SharedStateSize(uint32_t max_patterns, uint32_t ring_capacity);
/// Initializes a zeroed region of SharedStateSize bytes.
void InitSharedState(void* region, uint32_t max_patterns, uint32_t ring_capacity, int64_t now_us);

PatternEntry* PatternSlots(SharedState* s);
const PatternEntry* PatternSlots(const SharedState* s);
TrajectoryRecord* RingSlots(SharedState* s);
const TrajectoryRecord* RingSlots(const SharedState* s);

// Concurrency (the PG zone holds the state LWLock around every call):
//  * shared lock: FindPattern, UpdatePattern, AppendTrajectory,
//    CopyPatternEntry, CopyRingRecord, ReadCounters, BumpCounter -- many
//    backends at once; a pattern's statistics are updated under its own
//    spinlock, ring slots are claimed and published with atomics;
//  * exclusive lock: everything else (inserting a pattern, reset, images,
//    RingRecord pointers that must stay valid).
// Atomics are std::atomic_ref on plain fields: always lock-free on the
// platforms PostgreSQL runs us on (checked at compile time), so they work
// between processes on shared memory exactly like pg_atomic_*, and this file
// stays free of PostgreSQL headers and testable with threads.

/// Finds a pattern (nullptr when absent). O(1) expected.
const PatternEntry* FindPattern(const SharedState* s, uint64_t key);

enum class UpdateResult { kUpdated, kAbsent, kIgnored };
/// Shared lock: adds one execution to an existing pattern (under its
/// spinlock). kAbsent: the pattern must be inserted (InsertPattern, under
/// the exclusive lock); kIgnored: invalid sample (key 0, bad latency).
UpdateResult UpdatePattern(SharedState* s, const ExecutionSample& x);
/// Exclusive lock: inserts the pattern of `x` (or updates it when another
/// backend inserted it meanwhile) with admission by time at stake and a
/// share limit per role and per database: while another role (database)
/// holds patterns, no role (database) takes more than
/// max(1, floor(share * max_patterns)) slots -- beyond that its new pattern
/// replaces its own least valuable sampled pattern, or is refused. When the
/// table is full the victim is the least valuable of a sample of entries,
/// entries of owners above their share first. O(1) expected (bounded
/// sampling, never a scan of the table). Returns false when refused.
bool InsertPattern(SharedState* s, const ExecutionSample& x, double share);
/// Both steps, for callers that hold the exclusive lock (tests, tools).
void RecordExecution(SharedState* s, const ExecutionSample& x, double share = 1.0);
/// Time at stake of `e` decayed to `now_us`.
double PatternValue(const PatternEntry& e, int64_t now_us);
/// Patterns held by a role / a database (0 when none).
uint32_t RolePatterns(const SharedState* s, uint32_t role_oid);
uint32_t DatabasePatterns(const SharedState* s, uint32_t database_oid);
/// Shared lock: a consistent copy of a live entry (taken under its spinlock).
void CopyPatternEntry(const PatternEntry& e, PatternEntry* out);

/// Shared lock: appends to the ring, overwriting the oldest record when full
/// (counted as dropped when no learner consumed it). Assigns the sequence
/// number with an atomic fetch-add; the slot is claimed with a CAS on its
/// seq (busy bit) and published by storing seq with release order, so
/// readers never see a half-written record.
void AppendTrajectory(SharedState* s, const TrajectoryRecord& record);
/// The bytes of a record after its seq (what a writer fills).
inline constexpr size_t kTrajectoryBody = sizeof(TrajectoryRecord) - sizeof(uint64_t);
/// A ring slot claimed for writing in place.
struct RingClaim {
  TrajectoryRecord* slot = nullptr;  // nullptr: the record is dropped
  uint64_t seq = 0;
};
/// Shared lock: AppendTrajectory in two steps, for a writer that builds the
/// record in its slot instead of copying it there: ClaimTrajectory claims
/// the slot and zeroes everything but seq; the caller fills the fields and
/// then must call PublishTrajectory -- with nothing in between that can
/// fail or wait (until then, the writer a ring lap later spins on the slot).
RingClaim ClaimTrajectory(SharedState* s);
void PublishTrajectory(SharedState* s, const RingClaim& claim);
/// Records still in the ring, oldest first: [first_seq, next_seq).
uint64_t RingFirstSeq(const SharedState* s);
/// The next sequence number (read atomically: writers advance it under the
/// shared lock).
uint64_t RingNextSeq(const SharedState* s);
/// Exclusive lock: the record with `seq`, or nullptr when it was overwritten
/// / not written.
const TrajectoryRecord* RingRecord(const SharedState* s, uint64_t seq);
/// Shared lock: copies the record with `seq` when it is published and was
/// not overwritten during the copy (seqlock check); false otherwise.
bool CopyRingRecord(const SharedState* s, uint64_t seq, TrajectoryRecord* out);
enum class RingCopy { kCopied, kGone, kPending };
/// Shared lock: like CopyRingRecord, and tells why nothing was copied:
/// kGone = overwritten by a newer record (or never written), kPending = its
/// writer has not published it yet (a reader consuming the ring in order
/// stops there and comes back).
RingCopy CopyRingRecordAt(const SharedState* s, uint64_t seq, TrajectoryRecord* out);
/// Shared lock: like CopyRingRecordAt, but copies only the record's first
/// kTrajectoryHeaderBytes (the per-node arrays of *out are left as they
/// were): a reader that needs the plan of only some records.
RingCopy CopyRingHeaderAt(const SharedState* s, uint64_t seq, TrajectoryRecord* out);
/// Shared lock: records with seq <= `seq` were consumed by a learner
/// (ring_consumed_seq only grows; writers read it to count drops).
void AdvanceConsumed(SharedState* s, uint64_t seq);
/// Shared lock: the counters, each read atomically.
SharedCounters ReadCounters(const SharedState* s);
/// Shared lock: adds 1 to a counter of s->counters atomically.
void BumpCounter(uint64_t* counter);
/// Shared lock: adds `n` to a counter of s->counters atomically.
void AddCounter(uint64_t* counter, uint64_t n);
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
/// untouched. Patterns beyond s->max_patterns keep the most valuable (time
/// at stake);
/// ring records beyond s->ring_capacity keep the newest.
ruvector_dag::Status DeserializeState(std::string_view bytes, SharedState* s, size_t* patterns_loaded,
                                      size_t* trajectories_loaded);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_SHARED_STATE_H_
