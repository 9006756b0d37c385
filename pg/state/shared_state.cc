// Plain-data shared state: no PostgreSQL headers (see shared_state.h).
#include "state/shared_state.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>
#include <cstring>
#include <string_view>
#include <vector>

#include "ruvector_dag/core.h"

namespace ruvector_pg {

using ruvector_dag::Status;

namespace {

constexpr uint64_t kSharedMagic = 0x5256444147534D31ull;  // "RVDAGSM1"
constexpr char kFileMagic[8] = {'R', 'V', 'D', 'G', 'S', 'T', 'A', 'T'};
constexpr uint32_t kFileVersion = 6;  // 2: trajectories carry the plan's edges; 3: database and role;
                                      // 4: the relation set of each node; 5: the constants hash;
                                      // 6: the runs a record stands for (also read: 5)
/// Version 5's trajectory record: version 6's without also_runs and
/// also_latency_ms (its per-node arrays start where they start now).
constexpr size_t kV5TrajectorySize = 1104;
constexpr size_t kV5HeaderBytes = 140;
static_assert(offsetof(TrajectoryRecord, also_runs) == kV5HeaderBytes &&
                  sizeof(TrajectoryRecord) - kTrajectoryHeaderBytes == kV5TrajectorySize - kV5HeaderBytes - 4,
              "the version-5 conversion assumes the record layout of version 6");

size_t Align(size_t n) { return (n + 63) & ~size_t{63}; }

uint32_t SlotCountFor(uint32_t max_patterns) {
  uint32_t slots = 16;
  while (slots < 2ull * max_patterns) slots <<= 1;
  return slots;
}

size_t HeaderBytes() { return Align(sizeof(SharedState)); }

static_assert(std::atomic_ref<uint64_t>::is_always_lock_free, "shared-memory atomics must be lock-free");
static_assert(std::atomic_ref<uint32_t>::is_always_lock_free, "shared-memory atomics must be lock-free");

/// A ring slot being written: its seq field holds the new seq | kBusy.
constexpr uint64_t kBusy = uint64_t{1} << 63;

template <typename T>
std::atomic_ref<T> Atomic(const T& field) {
  return std::atomic_ref<T>(const_cast<T&>(field));
}

void CpuRelax(int spins) {
  if (spins >= 64) {
    // The holder may have been preempted (more backends than cores): let it run.
    std::this_thread::yield();
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("isb" ::: "memory");
#endif
}

/// The per-entry spinlock: held for a few dozen instructions, never across
/// anything that can fail.
class EntryLock {
 public:
  explicit EntryLock(const PatternEntry& e) : word_(Atomic(e.mutex)) {
    for (int spins = 0;; ++spins) {
      if (word_.load(std::memory_order_relaxed) == 0 && word_.exchange(1, std::memory_order_acquire) == 0) return;
      CpuRelax(spins);
    }
  }
  ~EntryLock() { word_.store(0, std::memory_order_release); }
  EntryLock(const EntryLock&) = delete;
  EntryLock& operator=(const EntryLock&) = delete;

 private:
  std::atomic_ref<uint32_t> word_;
};

PatternEntry* FindSlot(SharedState* s, uint64_t key) {
  PatternEntry* slots = PatternSlots(s);
  uint32_t mask = s->slot_count - 1;
  for (uint32_t i = static_cast<uint32_t>(key) & mask, n = 0; n < s->slot_count; i = (i + 1) & mask, ++n) {
    if (slots[i].key == key) return &slots[i];
    if (slots[i].key == 0) return nullptr;
  }
  return nullptr;
}

/// Backward-shift deletion keeps every probe chain unbroken.
void EraseSlot(SharedState* s, uint32_t i) {
  PatternEntry* slots = PatternSlots(s);
  uint32_t mask = s->slot_count - 1;
  uint32_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (slots[j].key == 0) break;
    uint32_t home = static_cast<uint32_t>(slots[j].key) & mask;
    bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    slots[i] = slots[j];
    i = j;
  }
  slots[i] = PatternEntry();
  --s->pattern_count;
}

PatternEntry* InsertSlot(SharedState* s, uint64_t key) {
  PatternEntry* slots = PatternSlots(s);
  uint32_t mask = s->slot_count - 1;
  uint32_t i = static_cast<uint32_t>(key) & mask;
  while (slots[i].key != 0) i = (i + 1) & mask;
  slots[i] = PatternEntry();
  slots[i].key = key;
  ++s->pattern_count;
  return &slots[i];
}

// --- owners (share limit) ----------------------------------------------------

OwnerCount* FindOwner(OwnerCount* table, uint32_t oid) {
  for (int i = 0; i < kOwnerSlots; ++i) {
    if (table[i].count != 0 && table[i].oid == oid) return &table[i];
  }
  return nullptr;
}

uint32_t OwnerPatterns(const OwnerCount* table, uint32_t oid) {
  const OwnerCount* o = FindOwner(const_cast<OwnerCount*>(table), oid);
  return o == nullptr ? 0 : o->count;
}

/// Owners holding patterns.
int LiveOwners(const OwnerCount* table) {
  int n = 0;
  for (int i = 0; i < kOwnerSlots; ++i) n += table[i].count != 0;
  return n;
}

/// Whether an owner other than `oid` holds patterns.
bool OthersHold(const OwnerCount* table, uint32_t oid) {
  for (int i = 0; i < kOwnerSlots; ++i) {
    if (table[i].count != 0 && table[i].oid != oid) return true;
  }
  return false;
}

/// Counts one pattern more or less for `oid`. When more than kOwnerSlots
/// owners hold patterns, the extra ones are not tracked (no share limit for
/// them; docs/postgres.md).
void AdjustOwner(OwnerCount* table, uint32_t oid, int delta) {
  OwnerCount* o = FindOwner(table, oid);
  if (o == nullptr && delta > 0) {
    for (int i = 0; i < kOwnerSlots && o == nullptr; ++i) {
      if (table[i].count == 0) {
        o = &table[i];
        o->oid = oid;
      }
    }
  }
  if (o == nullptr) return;
  if (delta < 0 && o->count == 0) return;
  o->count = static_cast<uint32_t>(static_cast<int64_t>(o->count) + delta);
}

void CountOwner(SharedState* s, const PatternEntry& e, int delta) {
  AdjustOwner(s->roles, e.role_oid, delta);
  AdjustOwner(s->databases, e.database_oid, delta);
}

void RebuildOwners(SharedState* s) {
  for (int i = 0; i < kOwnerSlots; ++i) s->roles[i] = OwnerCount(), s->databases[i] = OwnerCount();
  const PatternEntry* slots = PatternSlots(s);
  for (uint32_t i = 0; i < s->slot_count; ++i) {
    if (slots[i].key != 0) CountOwner(s, slots[i], +1);
  }
}

uint32_t NextRandom(SharedState* s) {
  // xorshift64*: sampling positions only; seeded in InitSharedState.
  uint64_t x = s->sample_rng != 0 ? s->sample_rng : 0x9E3779B97F4A7C15ull;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  s->sample_rng = x;
  return static_cast<uint32_t>((x * 0x2545F4914F6CDD1Dull) >> 32);
}

constexpr int kEvictionSample = 16;     // live entries compared per eviction
constexpr int kSampleProbes = 64;       // slot reads for them (the table is at most half full)
constexpr int kOwnVictimProbes = 1024;  // slot reads when the victim must be the owner's own

/// Which entries may be the victim.
struct VictimFilter {
  bool own_only = false;  // only entries of this role (and/or database)
  bool by_role = false;
  bool by_database = false;
  uint32_t role_oid = 0;
  uint32_t database_oid = 0;
  uint32_t limit = 0;  // owners holding at least this many are above their share
};

/// The slot of the least valuable sampled entry, preferring entries whose
/// role or database is above its share; slot_count when none qualified.
uint32_t SampleVictim(SharedState* s, const VictimFilter& f, int64_t now_us) {
  PatternEntry* slots = PatternSlots(s);
  const uint32_t mask = s->slot_count - 1;
  const int probes = f.own_only ? kOwnVictimProbes : kSampleProbes;
  // An owner is above its share only while another owner holds patterns.
  const bool roles_shared = LiveOwners(s->roles) > 1, databases_shared = LiveOwners(s->databases) > 1;
  uint32_t best = s->slot_count;
  bool best_over = false;
  double best_value = 0.0;
  int seen = 0;
  for (int p = 0; p < probes && seen < kEvictionSample; ++p) {
    uint32_t i = NextRandom(s) & mask;
    const PatternEntry& e = slots[i];
    if (e.key == 0) continue;
    if (f.own_only && ((f.by_role && e.role_oid != f.role_oid) || (f.by_database && e.database_oid != f.database_oid))) {
      continue;
    }
    ++seen;
    bool over = !f.own_only && ((roles_shared && OwnerPatterns(s->roles, e.role_oid) > f.limit) ||
                                (databases_shared && OwnerPatterns(s->databases, e.database_oid) > f.limit));
    double value = PatternValue(e, now_us);
    bool better = best == s->slot_count || (over && !best_over) ||
                  (over == best_over && (value < best_value || (value == best_value && e.key < slots[best].key)));
    if (better) {
      best = i;
      best_over = over;
      best_value = value;
    }
  }
  return best;
}

void EraseCounted(SharedState* s, uint32_t i) {
  CountOwner(s, PatternSlots(s)[i], -1);
  EraseSlot(s, i);
}

/// Adds one execution to `e` (the caller holds its spinlock or the
/// exclusive lock).
void Accumulate(PatternEntry* e, const ExecutionSample& x) {
  if (e->executions != 0 && e->shape_hash != x.shape_hash) ++e->shape_changes;
  e->shape_hash = x.shape_hash;
  e->node_count = x.node_count;
  if (x.runs > 1) {
    // Chan et al.'s merge of the batch's mean and squared deviations.
    const double n_a = static_cast<double>(e->executions), n_b = static_cast<double>(x.runs);
    const double mean_b = x.batch_sum_ms / n_b;
    const double delta = mean_b - e->mean_ms;
    const bool first = e->executions == 0;
    e->executions += x.runs;
    const double n = static_cast<double>(e->executions);
    e->mean_ms += delta * n_b / n;
    e->m2 += x.batch_m2 + delta * delta * n_a * n_b / n;
    e->min_ms = first ? x.batch_min_ms : std::min(e->min_ms, x.batch_min_ms);
    e->max_ms = first ? x.batch_max_ms : std::max(e->max_ms, x.batch_max_ms);
  } else {
    ++e->executions;
    double delta = x.latency_ms - e->mean_ms;
    e->mean_ms += delta / static_cast<double>(e->executions);
    e->m2 += delta * (x.latency_ms - e->mean_ms);
    e->min_ms = e->executions == 1 ? x.latency_ms : std::min(e->min_ms, x.latency_ms);
    e->max_ms = e->executions == 1 ? x.latency_ms : std::max(e->max_ms, x.latency_ms);
  }
  if (e->m2 < 0) e->m2 = 0;
  e->last_ms = x.latency_ms;
  e->last_seen_us = std::max(e->last_seen_us, x.now_us);
  e->value_ms = PatternValue(*e, x.now_us) + (x.runs > 1 ? x.batch_sum_ms : x.latency_ms);
  e->value_at_us = std::max(e->value_at_us, x.now_us);
}

bool ValidSample(const ExecutionSample& x) {
  if (x.key == 0 || !std::isfinite(x.latency_ms) || x.latency_ms < 0 || x.runs == 0) return false;
  return x.runs == 1 || (std::isfinite(x.batch_sum_ms) && std::isfinite(x.batch_m2) && x.batch_m2 >= 0 &&
                         x.batch_min_ms >= 0 && x.batch_max_ms >= x.batch_min_ms && x.batch_sum_ms >= x.latency_ms);
}

void ClearPatterns(SharedState* s) {
  PatternEntry* slots = PatternSlots(s);
  for (uint32_t i = 0; i < s->slot_count; ++i) slots[i] = PatternEntry();
  s->pattern_count = 0;
  RebuildOwners(s);
}

void ClearRing(SharedState* s) {
  TrajectoryRecord* ring = RingSlots(s);
  for (uint32_t i = 0; i < s->ring_capacity; ++i) ring[i] = TrajectoryRecord();
  s->ring_next_seq = 1;
  s->ring_consumed_seq = 0;
}

// --- image ----------------------------------------------------------------

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t header_size;
  uint32_t counters_size;
  uint32_t pattern_size;
  uint32_t trajectory_size;
  uint32_t pattern_count;
  uint32_t trajectory_count;
  uint32_t reserved;
  int64_t written_at_us;
  uint64_t ring_next_seq;
  uint64_t ring_consumed_seq;
  uint64_t payload_size;
  uint32_t payload_crc;
  uint32_t header_crc;  // over every byte before this field
};

bool Finite(double v) { return std::isfinite(v); }

Status CheckPattern(const PatternEntry& p, size_t i) {
  std::string where = "state image: pattern " + std::to_string(i);
  if (p.key == 0) return Status::DataLoss(where + " has key 0");
  if (!Finite(p.mean_ms) || !Finite(p.m2) || !Finite(p.min_ms) || !Finite(p.max_ms) || !Finite(p.last_ms) ||
      p.m2 < 0 || p.min_ms < 0 || p.max_ms < p.min_ms) {
    return Status::DataLoss(where + " has invalid latency statistics");
  }
  if (p.executions == 0) return Status::DataLoss(where + " has zero executions");
  if (!Finite(p.value_ms) || p.value_ms < 0) return Status::DataLoss(where + " has an invalid time at stake");
  if (p.mutex != 0) return Status::DataLoss(where + " has a held lock");
  return Status::Ok();
}

Status CheckTrajectory(const TrajectoryRecord& t, size_t i, uint64_t prev_seq) {
  std::string where = "state image: trajectory " + std::to_string(i);
  if (t.seq == 0 || t.seq <= prev_seq) return Status::DataLoss(where + " has a non-increasing sequence number");
  if (prev_seq != 0 && t.seq != prev_seq + 1) return Status::DataLoss(where + " leaves a gap in sequence numbers");
  if (!Finite(t.latency_ms) || t.latency_ms < 0) return Status::DataLoss(where + " has an invalid latency");
  if (!Finite(t.also_latency_ms) || t.also_latency_ms < 0 || (t.also_runs == 0 && t.also_latency_ms != 0.0)) {
    return Status::DataLoss(where + " has an invalid latency of the runs it stands for");
  }
  const int kept = t.node_count < kMaxTrajectoryNodes ? t.node_count : kMaxTrajectoryNodes;
  for (int n = 0; n < kept; ++n) {
    if (t.parent_plus_one[n] > n) return Status::DataLoss(where + " has a plan edge to a later node");
  }
  return Status::Ok();
}

}  // namespace

const char* LoadResultName(LoadResult r) {
  switch (r) {
    case LoadResult::kNotAttempted: return "not_attempted";
    case LoadResult::kLoaded: return "loaded";
    case LoadResult::kNoFile: return "no_file";
    case LoadResult::kCorrupt: return "corrupt";
    case LoadResult::kIncompatible: return "incompatible";
  }
  return "unknown";
}

size_t SharedStateSize(uint32_t max_patterns, uint32_t ring_capacity) {
  return HeaderBytes() + Align(sizeof(PatternEntry) * SlotCountFor(max_patterns)) +
         sizeof(TrajectoryRecord) * static_cast<size_t>(ring_capacity);
}

void InitSharedState(void* region, uint32_t max_patterns, uint32_t ring_capacity, int64_t now_us) {
  auto* s = new (region) SharedState();
  s->magic = kSharedMagic;
  s->max_patterns = max_patterns;
  s->slot_count = SlotCountFor(max_patterns);
  s->ring_capacity = ring_capacity;
  s->counters.started_at_us = now_us;
  s->sample_rng = static_cast<uint64_t>(now_us) * 0x9E3779B97F4A7C15ull + 1;
  PatternEntry* slots = PatternSlots(s);
  for (uint32_t i = 0; i < s->slot_count; ++i) new (&slots[i]) PatternEntry();
  TrajectoryRecord* ring = RingSlots(s);
  for (uint32_t i = 0; i < ring_capacity; ++i) new (&ring[i]) TrajectoryRecord();
}

PatternEntry* PatternSlots(SharedState* s) {
  return reinterpret_cast<PatternEntry*>(reinterpret_cast<char*>(s) + HeaderBytes());
}
const PatternEntry* PatternSlots(const SharedState* s) {
  return reinterpret_cast<const PatternEntry*>(reinterpret_cast<const char*>(s) + HeaderBytes());
}
TrajectoryRecord* RingSlots(SharedState* s) {
  return reinterpret_cast<TrajectoryRecord*>(reinterpret_cast<char*>(s) + HeaderBytes() +
                                             Align(sizeof(PatternEntry) * s->slot_count));
}
const TrajectoryRecord* RingSlots(const SharedState* s) {
  return reinterpret_cast<const TrajectoryRecord*>(reinterpret_cast<const char*>(s) + HeaderBytes() +
                                                   Align(sizeof(PatternEntry) * s->slot_count));
}

const PatternEntry* FindPattern(const SharedState* s, uint64_t key) {
  return FindSlot(const_cast<SharedState*>(s), key);
}

double PatternValue(const PatternEntry& e, int64_t now_us) {
  if (e.value_ms <= 0.0) return 0.0;
  int64_t age = now_us - e.value_at_us;
  if (age <= 0) return e.value_ms;
  if (age < 1000000) {
    // The common case (a pattern run again within a second): 2^-(age/H) =
    // e^-x with x < 2e-4, whose Taylor polynomial to x^3 is exact to a unit
    // in the last place (the next term is below 6e-17) and far cheaper than
    // exp2.
    constexpr double kPerUs = 0.69314718055994530942 / static_cast<double>(kValueHalfLifeUs);
    const double x = static_cast<double>(age) * kPerUs;
    return e.value_ms * (1.0 - x * (1.0 - x * (0.5 - x * (1.0 / 6.0))));
  }
  return e.value_ms * std::exp2(-static_cast<double>(age) / static_cast<double>(kValueHalfLifeUs));
}

uint32_t RolePatterns(const SharedState* s, uint32_t role_oid) { return OwnerPatterns(s->roles, role_oid); }
uint32_t DatabasePatterns(const SharedState* s, uint32_t database_oid) {
  return OwnerPatterns(s->databases, database_oid);
}

UpdateResult UpdatePattern(SharedState* s, const ExecutionSample& x) {
  if (!ValidSample(x)) return UpdateResult::kIgnored;
  PatternEntry* e = FindSlot(s, x.key);
  if (e == nullptr) return UpdateResult::kAbsent;
  EntryLock lock(*e);
  Accumulate(e, x);
  return UpdateResult::kUpdated;
}

bool InsertPattern(SharedState* s, const ExecutionSample& x, double share) {
  if (!ValidSample(x)) return false;
  if (PatternEntry* e = FindSlot(s, x.key)) {
    Accumulate(e, x);  // another backend inserted it first
    return true;
  }
  if (!(share > 0.0)) share = 1.0;
  const uint32_t limit =
      std::max<uint32_t>(1, static_cast<uint32_t>(std::floor(std::min(1.0, share) * s->max_patterns)));
  VictimFilter f;
  f.limit = limit;
  f.role_oid = x.role_oid;
  f.database_oid = x.database_oid;
  // Above its share while others hold patterns: the owner recycles its own slots.
  f.by_role = RolePatterns(s, x.role_oid) >= limit && OthersHold(s->roles, x.role_oid);
  f.by_database = DatabasePatterns(s, x.database_oid) >= limit && OthersHold(s->databases, x.database_oid);
  f.own_only = f.by_role || f.by_database;
  if (f.own_only || s->pattern_count >= s->max_patterns) {
    uint32_t victim = SampleVictim(s, f, x.now_us);
    if (victim == s->slot_count) {
      ++s->counters.patterns_refused;
      return false;
    }
    EraseCounted(s, victim);
    ++s->counters.patterns_evicted;
  }
  PatternEntry* e = InsertSlot(s, x.key);
  e->query_id = x.query_id;
  e->param_bucket = x.param_bucket;
  e->database_oid = x.database_oid;
  e->role_oid = x.role_oid;
  e->first_seen_us = x.now_us;
  e->value_at_us = x.now_us;
  CountOwner(s, *e, +1);
  Accumulate(e, x);
  return true;
}

void RecordExecution(SharedState* s, const ExecutionSample& x, double share) {
  if (UpdatePattern(s, x) == UpdateResult::kAbsent) InsertPattern(s, x, share);
}

void CopyPatternEntry(const PatternEntry& e, PatternEntry* out) {
  EntryLock lock(e);
  *out = e;
  out->mutex = 0;
}

void BumpCounter(uint64_t* counter) { Atomic(*counter).fetch_add(1, std::memory_order_relaxed); }
void AddCounter(uint64_t* counter, uint64_t n) { Atomic(*counter).fetch_add(n, std::memory_order_relaxed); }

SharedCounters ReadCounters(const SharedState* s) {
  const SharedCounters& c = s->counters;
  SharedCounters out;
  auto get = [](const uint64_t& v) { return Atomic(v).load(std::memory_order_relaxed); };
  out.plans_observed = get(c.plans_observed);
  out.plans_known_pattern = get(c.plans_known_pattern);
  out.executions_observed = get(c.executions_observed);
  out.trajectories_written = get(c.trajectories_written);
  out.trajectories_dropped = get(c.trajectories_dropped);
  out.patterns_evicted = get(c.patterns_evicted);
  out.patterns_refused = get(c.patterns_refused);
  out.internal_errors = get(c.internal_errors);
  out.state_saves = get(c.state_saves);
  out.last_save_us = Atomic(c.last_save_us).load(std::memory_order_relaxed);
  out.started_at_us = Atomic(c.started_at_us).load(std::memory_order_relaxed);
  return out;
}

RingClaim ClaimTrajectory(SharedState* s) {
  RingClaim claim;
  if (s->ring_capacity == 0) return claim;
  const uint64_t seq = Atomic(s->ring_next_seq).fetch_add(1, std::memory_order_acq_rel);
  TrajectoryRecord* slot = &RingSlots(s)[(seq - 1) % s->ring_capacity];
  std::atomic_ref<uint64_t> slot_seq(slot->seq);
  uint64_t cur = slot_seq.load(std::memory_order_acquire);
  for (int spins = 0;; ++spins) {
    if ((cur & kBusy) != 0) {
      // Another writer (a full lap of the ring ago) is still copying.
      CpuRelax(spins);
      cur = slot_seq.load(std::memory_order_acquire);
      continue;
    }
    if (cur >= seq) {
      // A newer record took the slot while this writer was delayed: this one
      // is the oldest and is dropped.
      BumpCounter(&s->counters.trajectories_written);
      BumpCounter(&s->counters.trajectories_dropped);
      return claim;
    }
    if (slot_seq.compare_exchange_weak(cur, seq | kBusy, std::memory_order_acquire, std::memory_order_acquire)) break;
  }
  if (cur != 0 && cur > Atomic(s->ring_consumed_seq).load(std::memory_order_relaxed)) {
    BumpCounter(&s->counters.trajectories_dropped);
  }
  // Everything after seq; readers check seq before and after copying.
  static_assert(offsetof(TrajectoryRecord, seq) == 0 && offsetof(TrajectoryRecord, pattern_key) == sizeof(uint64_t));
  std::memset(reinterpret_cast<char*>(slot) + sizeof(uint64_t), 0, kTrajectoryBody);
  claim.slot = slot;
  claim.seq = seq;
  return claim;
}

void PublishTrajectory(SharedState* s, const RingClaim& claim) {
  if (claim.slot == nullptr) return;
  std::atomic_ref<uint64_t>(claim.slot->seq).store(claim.seq, std::memory_order_release);
  BumpCounter(&s->counters.trajectories_written);
}

void AppendTrajectory(SharedState* s, const TrajectoryRecord& record) {
  RingClaim claim = ClaimTrajectory(s);
  if (claim.slot == nullptr) return;
  std::memcpy(reinterpret_cast<char*>(claim.slot) + sizeof(uint64_t),
              reinterpret_cast<const char*>(&record) + sizeof(uint64_t), kTrajectoryBody);
  PublishTrajectory(s, claim);
}

uint64_t RingNextSeq(const SharedState* s) { return Atomic(s->ring_next_seq).load(std::memory_order_acquire); }

uint64_t RingFirstSeq(const SharedState* s) {
  uint64_t written = RingNextSeq(s) - 1;
  return written > s->ring_capacity ? written - s->ring_capacity + 1 : 1;
}

const TrajectoryRecord* RingRecord(const SharedState* s, uint64_t seq) {
  if (seq == 0 || seq >= RingNextSeq(s) || seq < RingFirstSeq(s) || s->ring_capacity == 0) return nullptr;
  const TrajectoryRecord* r = &RingSlots(s)[(seq - 1) % s->ring_capacity];
  return Atomic(r->seq).load(std::memory_order_acquire) == seq ? r : nullptr;
}

namespace {

/// Copies the first `bytes` of the record with `seq` (seqlock-checked).
RingCopy CopyRingBytesAt(const SharedState* s, uint64_t seq, TrajectoryRecord* out, size_t bytes) {
  if (seq == 0 || s->ring_capacity == 0 || seq < RingFirstSeq(s)) return RingCopy::kGone;
  if (seq >= RingNextSeq(s)) return RingCopy::kPending;
  const TrajectoryRecord* r = &RingSlots(s)[(seq - 1) % s->ring_capacity];
  std::atomic_ref<uint64_t> slot_seq(const_cast<uint64_t&>(r->seq));
  const uint64_t cur = slot_seq.load(std::memory_order_acquire);
  if (cur != seq) return (cur & ~kBusy) > seq ? RingCopy::kGone : RingCopy::kPending;
  std::memcpy(static_cast<void*>(out), r, bytes);
  // Seqlock check: no newer writer claimed the slot during the copy.
  std::atomic_thread_fence(std::memory_order_acquire);
  if (slot_seq.load(std::memory_order_relaxed) != seq) return RingCopy::kGone;
  out->seq = seq;
  return RingCopy::kCopied;
}

}  // namespace

RingCopy CopyRingRecordAt(const SharedState* s, uint64_t seq, TrajectoryRecord* out) {
  return CopyRingBytesAt(s, seq, out, sizeof(TrajectoryRecord));
}

RingCopy CopyRingHeaderAt(const SharedState* s, uint64_t seq, TrajectoryRecord* out) {
  return CopyRingBytesAt(s, seq, out, kTrajectoryHeaderBytes);
}

bool CopyRingRecord(const SharedState* s, uint64_t seq, TrajectoryRecord* out) {
  return CopyRingRecordAt(s, seq, out) == RingCopy::kCopied;
}

void AdvanceConsumed(SharedState* s, uint64_t seq) {
  std::atomic_ref<uint64_t> consumed(s->ring_consumed_seq);
  uint64_t cur = consumed.load(std::memory_order_relaxed);
  while (cur < seq && !consumed.compare_exchange_weak(cur, seq, std::memory_order_relaxed)) {
  }
}

void ResetSharedState(SharedState* s) {
  ClearPatterns(s);
  ClearRing(s);
  SharedCounters fresh;
  fresh.started_at_us = s->counters.started_at_us;
  s->counters = fresh;
  ++s->generation;
}

namespace {

uint32_t LivePatterns(const SharedState* s) {
  uint32_t n = 0;
  const PatternEntry* slots = PatternSlots(s);
  for (uint32_t i = 0; i < s->slot_count; ++i) n += slots[i].key != 0;
  return n;
}

uint32_t LiveTrajectories(const SharedState* s) {
  uint32_t n = 0;
  for (uint64_t seq = RingFirstSeq(s); seq < RingNextSeq(s); ++seq) n += RingRecord(s, seq) != nullptr;
  return n;
}

/// A trajectory record of an image of `version` (5 or kFileVersion).
void ReadRecord(const char* p, uint32_t version, TrajectoryRecord* t) {
  if (version != 5) {
    std::memcpy(t, p, sizeof(*t));
    return;
  }
  *t = TrajectoryRecord();  // a version-5 record stands for its own run only
  std::memcpy(t, p, kV5HeaderBytes);
  std::memcpy(reinterpret_cast<char*>(t) + kTrajectoryHeaderBytes, p + kV5HeaderBytes,
              sizeof(TrajectoryRecord) - kTrajectoryHeaderBytes);
}

template <typename T>
char* Put(char* out, const T& value) {
  std::memcpy(out, &value, sizeof(T));
  return out + sizeof(T);
}

}  // namespace

size_t SerializedSize(const SharedState* s) {
  return sizeof(FileHeader) + sizeof(SharedCounters) + size_t{LivePatterns(s)} * sizeof(PatternEntry) +
         size_t{LiveTrajectories(s)} * sizeof(TrajectoryRecord);
}

void SerializeInto(const SharedState* s, int64_t now_us, char* out) {
  char* payload = out + sizeof(FileHeader);
  char* p = Put(payload, s->counters);
  uint32_t patterns = 0;
  const PatternEntry* slots = PatternSlots(s);
  for (uint32_t i = 0; i < s->slot_count; ++i) {
    if (slots[i].key == 0) continue;
    PatternEntry e = slots[i];
    e.mutex = 0;
    p = Put(p, e);
    ++patterns;
  }
  uint32_t trajectories = 0;
  for (uint64_t seq = RingFirstSeq(s); seq < RingNextSeq(s); ++seq) {
    const TrajectoryRecord* r = RingRecord(s, seq);
    if (r == nullptr) continue;
    p = Put(p, *r);
    ++trajectories;
  }
  FileHeader h;
  std::memset(&h, 0, sizeof(h));
  std::memcpy(h.magic, kFileMagic, sizeof(h.magic));
  h.version = kFileVersion;
  h.header_size = sizeof(FileHeader);
  h.counters_size = sizeof(SharedCounters);
  h.pattern_size = sizeof(PatternEntry);
  h.trajectory_size = sizeof(TrajectoryRecord);
  h.pattern_count = patterns;
  h.trajectory_count = trajectories;
  h.written_at_us = now_us;
  h.ring_next_seq = s->ring_next_seq;
  h.ring_consumed_seq = s->ring_consumed_seq;
  h.payload_size = static_cast<uint64_t>(p - payload);
  h.payload_crc = ruvector_dag::Crc32c(payload, h.payload_size);
  h.header_crc = ruvector_dag::Crc32c(&h, offsetof(FileHeader, header_crc));
  std::memcpy(out, &h, sizeof(h));
}

Status DeserializeState(std::string_view bytes, SharedState* s, size_t* patterns_loaded,
                        size_t* trajectories_loaded) {
  if (bytes.size() < sizeof(FileHeader)) {
    return Status::DataLoss("state image is truncated: " + std::to_string(bytes.size()) + " bytes, header needs " +
                            std::to_string(sizeof(FileHeader)));
  }
  FileHeader h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (std::memcmp(h.magic, kFileMagic, sizeof(h.magic)) != 0) {
    return Status::DataLoss("state image has a wrong magic number (not a ruvector_dag state)");
  }
  if (ruvector_dag::Crc32c(&h, offsetof(FileHeader, header_crc)) != h.header_crc) {
    return Status::DataLoss("state image header checksum mismatch");
  }
  if (h.version != kFileVersion && h.version != 5) {
    return Status::FailedPrecondition("state image version " + std::to_string(h.version) +
                                      " is not supported (this build reads versions 5 and " +
                                      std::to_string(kFileVersion) + ")");
  }
  const size_t record_size = h.version == 5 ? kV5TrajectorySize : sizeof(TrajectoryRecord);
  if (h.header_size != sizeof(FileHeader) || h.counters_size != sizeof(SharedCounters) ||
      h.pattern_size != sizeof(PatternEntry) || h.trajectory_size != record_size) {
    return Status::FailedPrecondition("state image record sizes differ from this build's");
  }
  uint64_t expected = sizeof(SharedCounters) + uint64_t{h.pattern_count} * sizeof(PatternEntry) +
                      uint64_t{h.trajectory_count} * record_size;
  if (h.payload_size != expected) return Status::DataLoss("state image payload size does not match its counts");
  if (bytes.size() - sizeof(FileHeader) != h.payload_size) {
    return Status::DataLoss("state image is truncated or has trailing bytes: payload " +
                            std::to_string(bytes.size() - sizeof(FileHeader)) + " bytes, header says " +
                            std::to_string(h.payload_size));
  }
  const char* payload = bytes.data() + sizeof(FileHeader);
  if (ruvector_dag::Crc32c(payload, h.payload_size) != h.payload_crc) {
    return Status::DataLoss("state image payload checksum mismatch");
  }

  // Validate everything before touching `s`.
  SharedCounters counters;
  std::memcpy(&counters, payload, sizeof(counters));
  const char* p = payload + sizeof(SharedCounters);
  std::vector<PatternEntry> patterns(h.pattern_count);
  for (uint32_t i = 0; i < h.pattern_count; ++i, p += sizeof(PatternEntry)) {
    std::memcpy(&patterns[i], p, sizeof(PatternEntry));
    RUVECTOR_RETURN_IF_ERROR(CheckPattern(patterns[i], i));
  }
  std::vector<uint64_t> keys;
  keys.reserve(patterns.size());
  for (const auto& e : patterns) keys.push_back(e.key);
  std::sort(keys.begin(), keys.end());
  if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
    return Status::DataLoss("state image holds a pattern key twice");
  }
  const char* traj_begin = p;
  uint64_t prev = 0;
  for (uint32_t i = 0; i < h.trajectory_count; ++i, p += record_size) {
    TrajectoryRecord t;
    ReadRecord(p, h.version, &t);
    RUVECTOR_RETURN_IF_ERROR(CheckTrajectory(t, i, prev));
    prev = t.seq;
  }
  if (prev != 0 && h.ring_next_seq <= prev) return Status::DataLoss("state image ring cursor precedes its records");

  // Apply: the most valuable patterns (time at stake when the image was
  // written) first when the table is smaller.
  std::sort(patterns.begin(), patterns.end(), [&h](const PatternEntry& a, const PatternEntry& b) {
    double va = PatternValue(a, h.written_at_us), vb = PatternValue(b, h.written_at_us);
    if (va != vb) return va > vb;
    if (a.last_seen_us != b.last_seen_us) return a.last_seen_us > b.last_seen_us;
    return a.key < b.key;
  });
  if (patterns.size() > s->max_patterns) patterns.resize(s->max_patterns);
  ClearPatterns(s);
  for (const auto& e : patterns) *InsertSlot(s, e.key) = e;
  RebuildOwners(s);
  ClearRing(s);
  uint32_t keep = std::min<uint32_t>(h.trajectory_count, s->ring_capacity);
  const char* first = traj_begin + static_cast<size_t>(h.trajectory_count - keep) * record_size;
  TrajectoryRecord* ring = RingSlots(s);
  uint64_t last_seq = 0;
  for (uint32_t i = 0; i < keep; ++i) {
    TrajectoryRecord t;
    ReadRecord(first + static_cast<size_t>(i) * record_size, h.version, &t);
    ring[(t.seq - 1) % s->ring_capacity] = t;
    last_seq = t.seq;
  }
  s->ring_next_seq = std::max<uint64_t>(h.ring_next_seq, last_seq + 1);
  s->ring_consumed_seq = std::min<uint64_t>(h.ring_consumed_seq, s->ring_next_seq - 1);
  int64_t started = s->counters.started_at_us;
  s->counters = counters;
  s->counters.started_at_us = started;
  ++s->generation;
  if (patterns_loaded != nullptr) *patterns_loaded = patterns.size();
  if (trajectories_loaded != nullptr) *trajectories_loaded = keep;
  return Status::Ok();
}

}  // namespace ruvector_pg
