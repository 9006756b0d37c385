// Plain-data shared state: no PostgreSQL headers (see shared_state.h).
#include "shared_state.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>
#include <vector>

#include "ruvector_dag/core.h"

namespace ruvector_pg {

using ruvector_dag::Status;

namespace {

constexpr uint64_t kSharedMagic = 0x5256444147534D31ull;  // "RVDAGSM1"
constexpr char kFileMagic[8] = {'R', 'V', 'D', 'G', 'S', 'T', 'A', 'T'};
constexpr uint32_t kFileVersion = 2;  // 2: trajectories carry the plan's edges

size_t Align(size_t n) { return (n + 63) & ~size_t{63}; }

uint32_t SlotCountFor(uint32_t max_patterns) {
  uint32_t slots = 16;
  while (slots < 2ull * max_patterns) slots <<= 1;
  return slots;
}

size_t HeaderBytes() { return Align(sizeof(SharedState)); }

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

void EvictLeastRecent(SharedState* s) {
  PatternEntry* slots = PatternSlots(s);
  uint32_t victim = s->slot_count;
  for (uint32_t i = 0; i < s->slot_count; ++i) {
    if (slots[i].key == 0) continue;
    if (victim == s->slot_count || slots[i].last_seen_us < slots[victim].last_seen_us ||
        (slots[i].last_seen_us == slots[victim].last_seen_us && slots[i].key < slots[victim].key)) {
      victim = i;
    }
  }
  if (victim != s->slot_count) {
    EraseSlot(s, victim);
    ++s->counters.patterns_evicted;
  }
}

PatternEntry* InsertSlot(SharedState* s, uint64_t key) {
  if (s->pattern_count >= s->max_patterns) EvictLeastRecent(s);
  PatternEntry* slots = PatternSlots(s);
  uint32_t mask = s->slot_count - 1;
  uint32_t i = static_cast<uint32_t>(key) & mask;
  while (slots[i].key != 0) i = (i + 1) & mask;
  slots[i] = PatternEntry();
  slots[i].key = key;
  ++s->pattern_count;
  return &slots[i];
}

void ClearPatterns(SharedState* s) {
  PatternEntry* slots = PatternSlots(s);
  for (uint32_t i = 0; i < s->slot_count; ++i) slots[i] = PatternEntry();
  s->pattern_count = 0;
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
  return Status::Ok();
}

Status CheckTrajectory(const TrajectoryRecord& t, size_t i, uint64_t prev_seq) {
  std::string where = "state image: trajectory " + std::to_string(i);
  if (t.seq == 0 || t.seq <= prev_seq) return Status::DataLoss(where + " has a non-increasing sequence number");
  if (prev_seq != 0 && t.seq != prev_seq + 1) return Status::DataLoss(where + " leaves a gap in sequence numbers");
  if (!Finite(t.latency_ms) || t.latency_ms < 0) return Status::DataLoss(where + " has an invalid latency");
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

void RecordExecution(SharedState* s, uint64_t key, uint64_t query_id, uint64_t shape_hash, uint32_t param_bucket,
                     uint32_t node_count, double latency_ms, int64_t now_us) {
  if (key == 0 || !std::isfinite(latency_ms) || latency_ms < 0) return;
  PatternEntry* e = FindSlot(s, key);
  if (e == nullptr) {
    e = InsertSlot(s, key);
    e->query_id = query_id;
    e->param_bucket = param_bucket;
    e->first_seen_us = now_us;
    e->min_ms = latency_ms;
    e->max_ms = latency_ms;
  } else if (e->shape_hash != shape_hash) {
    ++e->shape_changes;
  }
  e->shape_hash = shape_hash;
  e->node_count = node_count;
  ++e->executions;
  double delta = latency_ms - e->mean_ms;
  e->mean_ms += delta / static_cast<double>(e->executions);
  e->m2 += delta * (latency_ms - e->mean_ms);
  if (e->m2 < 0) e->m2 = 0;
  e->min_ms = std::min(e->min_ms, latency_ms);
  e->max_ms = std::max(e->max_ms, latency_ms);
  e->last_ms = latency_ms;
  e->last_seen_us = now_us;
}

void AppendTrajectory(SharedState* s, const TrajectoryRecord& record) {
  if (s->ring_capacity == 0) return;
  uint64_t seq = s->ring_next_seq++;
  TrajectoryRecord* slot = &RingSlots(s)[(seq - 1) % s->ring_capacity];
  if (slot->seq != 0 && slot->seq > s->ring_consumed_seq) ++s->counters.trajectories_dropped;
  *slot = record;
  slot->seq = seq;
  ++s->counters.trajectories_written;
}

uint64_t RingFirstSeq(const SharedState* s) {
  uint64_t written = s->ring_next_seq - 1;
  return written > s->ring_capacity ? written - s->ring_capacity + 1 : 1;
}

const TrajectoryRecord* RingRecord(const SharedState* s, uint64_t seq) {
  if (seq == 0 || seq >= s->ring_next_seq || seq < RingFirstSeq(s) || s->ring_capacity == 0) return nullptr;
  const TrajectoryRecord* r = &RingSlots(s)[(seq - 1) % s->ring_capacity];
  return r->seq == seq ? r : nullptr;
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
  for (uint64_t seq = RingFirstSeq(s); seq < s->ring_next_seq; ++seq) n += RingRecord(s, seq) != nullptr;
  return n;
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
    p = Put(p, slots[i]);
    ++patterns;
  }
  uint32_t trajectories = 0;
  for (uint64_t seq = RingFirstSeq(s); seq < s->ring_next_seq; ++seq) {
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
  if (h.version != kFileVersion) {
    return Status::FailedPrecondition("state image version " + std::to_string(h.version) +
                                      " is not supported (this build reads version " +
                                      std::to_string(kFileVersion) + ")");
  }
  if (h.header_size != sizeof(FileHeader) || h.counters_size != sizeof(SharedCounters) ||
      h.pattern_size != sizeof(PatternEntry) || h.trajectory_size != sizeof(TrajectoryRecord)) {
    return Status::FailedPrecondition("state image record sizes differ from this build's");
  }
  uint64_t expected = sizeof(SharedCounters) + uint64_t{h.pattern_count} * sizeof(PatternEntry) +
                      uint64_t{h.trajectory_count} * sizeof(TrajectoryRecord);
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
  for (uint32_t i = 0; i < h.trajectory_count; ++i, p += sizeof(TrajectoryRecord)) {
    TrajectoryRecord t;
    std::memcpy(&t, p, sizeof(t));
    RUVECTOR_RETURN_IF_ERROR(CheckTrajectory(t, i, prev));
    prev = t.seq;
  }
  if (prev != 0 && h.ring_next_seq <= prev) return Status::DataLoss("state image ring cursor precedes its records");

  // Apply: most recently seen patterns first when the table is smaller.
  std::sort(patterns.begin(), patterns.end(), [](const PatternEntry& a, const PatternEntry& b) {
    if (a.last_seen_us != b.last_seen_us) return a.last_seen_us > b.last_seen_us;
    return a.key < b.key;
  });
  if (patterns.size() > s->max_patterns) patterns.resize(s->max_patterns);
  ClearPatterns(s);
  for (const auto& e : patterns) *InsertSlot(s, e.key) = e;
  ClearRing(s);
  uint32_t keep = std::min<uint32_t>(h.trajectory_count, s->ring_capacity);
  const char* first = traj_begin + static_cast<size_t>(h.trajectory_count - keep) * sizeof(TrajectoryRecord);
  TrajectoryRecord* ring = RingSlots(s);
  uint64_t last_seq = 0;
  for (uint32_t i = 0; i < keep; ++i) {
    TrajectoryRecord t;
    std::memcpy(&t, first + static_cast<size_t>(i) * sizeof(TrajectoryRecord), sizeof(t));
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
