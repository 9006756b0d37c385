// Tests of the PostgreSQL-free parts of the extension: the shared-state
// algorithms (pattern table, ring, state image) and the C++-zone bridge.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "planner/dag_bridge.h"
#include "ruvector_dag/core.h"
#include "state/shared_state.h"

namespace ruvector_pg {
namespace {

struct Region {
  Region(uint32_t max_patterns, uint32_t ring) : bytes(SharedStateSize(max_patterns, ring) + 64) {
    void* p = bytes.data();
    size_t space = bytes.size();
    void* aligned = std::align(64, SharedStateSize(max_patterns, ring), p, space);
    std::memset(aligned, 0, SharedStateSize(max_patterns, ring));
    InitSharedState(aligned, max_patterns, ring, 1000);
    state = static_cast<SharedState*>(aligned);
  }
  std::vector<char> bytes;
  SharedState* state;
};

ExecutionSample Sample(uint64_t key, double ms, int64_t t, uint32_t role = 10, uint32_t db = 1) {
  ExecutionSample x;
  x.key = key;
  x.latency_ms = ms;
  x.now_us = t;
  x.role_oid = role;
  x.database_oid = db;
  return x;
}

void Record(SharedState* s, uint64_t key, uint64_t query_id, uint64_t shape, uint32_t bucket, uint32_t nodes,
            double ms, int64_t t) {
  ExecutionSample x = Sample(key, ms, t);
  x.query_id = query_id;
  x.shape_hash = shape;
  x.param_bucket = bucket;
  x.node_count = nodes;
  RecordExecution(s, x);
}

std::string Image(const SharedState* s) {
  std::string out(SerializedSize(s), '\0');
  SerializeInto(s, 42, out.data());
  return out;
}

TEST(SharedStateTest, RecordsStatisticsPerPattern) {
  Region r(16, 32);
  Record(r.state, 7, 70, 700, 3, 5, 10.0, 1);
  Record(r.state, 7, 70, 700, 3, 5, 20.0, 2);
  Record(r.state, 7, 70, 701, 3, 5, 30.0, 3);
  const PatternEntry* e = FindPattern(r.state, 7);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->executions, 3u);
  EXPECT_DOUBLE_EQ(e->mean_ms, 20.0);
  EXPECT_DOUBLE_EQ(e->m2, 200.0);  // sample variance 100
  EXPECT_DOUBLE_EQ(e->min_ms, 10.0);
  EXPECT_DOUBLE_EQ(e->max_ms, 30.0);
  EXPECT_EQ(e->shape_changes, 1u);
  EXPECT_EQ(e->last_seen_us, 3);
  EXPECT_EQ(FindPattern(r.state, 8), nullptr);
  // Invalid observations are ignored.
  Record(r.state, 0, 1, 1, 0, 1, 1.0, 4);
  Record(r.state, 9, 1, 1, 0, 1, -1.0, 4);
  EXPECT_EQ(r.state->pattern_count, 1u);
}

TEST(SharedStateTest, ABatchOfRunsCountsLikeTheRunsOneByOne) {
  // Pattern 7 gets runs one by one; pattern 8 the same runs, the first two
  // alone and the other six as one batch (a steady pattern's record).
  Region r(16, 32);
  const double ms[] = {2.0, 3.5, 1.0, 8.0, 2.5, 2.5, 4.0, 0.5};
  for (int i = 0; i < 8; ++i) RecordExecution(r.state, Sample(7, ms[i], 10 + i));
  for (int i = 0; i < 2; ++i) RecordExecution(r.state, Sample(8, ms[i], 10 + i));
  ExecutionSample batch = Sample(8, ms[7], 17);
  batch.runs = 6;
  double sum = 0, mean = 0, m2 = 0;
  for (int i = 2; i < 8; ++i) sum += ms[i];
  mean = sum / 6;
  for (int i = 2; i < 8; ++i) m2 += (ms[i] - mean) * (ms[i] - mean);
  batch.batch_sum_ms = sum;
  batch.batch_m2 = m2;
  batch.batch_min_ms = 0.5;
  batch.batch_max_ms = 8.0;
  RecordExecution(r.state, batch);
  const PatternEntry* a = FindPattern(r.state, 7);
  const PatternEntry* b = FindPattern(r.state, 8);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->executions, 8u);
  EXPECT_NEAR(b->mean_ms, a->mean_ms, 1e-12);
  EXPECT_NEAR(b->m2, a->m2, 1e-9);
  EXPECT_DOUBLE_EQ(b->min_ms, 0.5);
  EXPECT_DOUBLE_EQ(b->max_ms, 8.0);
  EXPECT_DOUBLE_EQ(b->last_ms, 0.5);
  EXPECT_NEAR(b->value_ms, a->value_ms, 1e-6);  // decayed once instead of per run
  // A batch whose statistics do not fit its runs is ignored.
  ExecutionSample bad = batch;
  bad.key = 9;
  bad.batch_max_ms = 0.1;  // below its minimum
  RecordExecution(r.state, bad);
  bad.batch_max_ms = 8.0;
  bad.batch_sum_ms = 0.1;  // below the run it names
  RecordExecution(r.state, bad);
  bad.batch_sum_ms = sum;
  bad.runs = 0;
  RecordExecution(r.state, bad);
  EXPECT_EQ(FindPattern(r.state, 9), nullptr);
}

TEST(SharedStateTest, EvictsCheapPatternsAndKeepsProbeChains) {
  Region r(16, 8);
  // Keys colliding on the same home slot exercise backward-shift deletion.
  const uint32_t slots = r.state->slot_count;
  std::mt19937_64 rng(5);
  // Four valuable patterns (100 ms each run), seen once, long ago.
  for (uint64_t k = 1; k <= 4; ++k) Record(r.state, k * slots + 1, 0, 0, 0, 1, 100.0, 1);
  for (int64_t t = 2; t <= 2000; ++t) {
    uint64_t key = (rng() % 40 + 10) * slots + (rng() % 3) + 1;  // few home slots, many keys
    Record(r.state, key, 0, 0, 0, 1, 0.01, t);
    ASSERT_LE(r.state->pattern_count, 16u);
    // Every live key is findable (probe chains unbroken).
    uint32_t live = 0;
    for (uint32_t i = 0; i < slots; ++i) {
      const PatternEntry& e = PatternSlots(r.state)[i];
      if (e.key == 0) continue;
      ++live;
      ASSERT_EQ(FindPattern(r.state, e.key), &e) << "key " << e.key << " at t=" << t;
    }
    ASSERT_EQ(live, r.state->pattern_count);
  }
  // The cheap flood churned among itself; the valuable patterns stayed.
  for (uint64_t k = 1; k <= 4; ++k) EXPECT_NE(FindPattern(r.state, k * slots + 1), nullptr) << k;
  EXPECT_GT(r.state->counters.patterns_evicted, 1000u);
}

TEST(SharedStateTest, TimeAtStakeDecays) {
  PatternEntry e;
  e.value_ms = 8.0;
  e.value_at_us = 0;
  EXPECT_DOUBLE_EQ(PatternValue(e, 0), 8.0);
  EXPECT_NEAR(PatternValue(e, kValueHalfLifeUs), 4.0, 1e-9);
  EXPECT_NEAR(PatternValue(e, 3 * kValueHalfLifeUs), 1.0, 1e-9);
  // Ages under a second take a polynomial: as exact as exp2.
  for (int64_t age : {1, 1000, 250000, 999999}) {
    const double exact = 8.0 * std::exp2(-static_cast<double>(age) / static_cast<double>(kValueHalfLifeUs));
    EXPECT_NEAR(PatternValue(e, age), exact, 1e-14) << age;
  }
  EXPECT_LT(PatternValue(e, 999999), 8.0);
  // A slow pattern not run for a day loses to a cheap one run now.
  Region r(16, 8);
  ExecutionSample slow = Sample(5, 1000.0, 0);
  RecordExecution(r.state, slow);
  const int64_t day = 24 * kValueHalfLifeUs;
  for (uint64_t k = 100; k < 140; ++k) RecordExecution(r.state, Sample(k, 1.0, day));
  EXPECT_EQ(FindPattern(r.state, 5), nullptr);
}

TEST(SharedStateTest, FloodOfOneRoleKeepsAnotherRolesSlowPatternAndItsShare) {
  const uint32_t kMax = 200;
  Region r(kMax, 8);
  const double share = 0.5;
  // Role 20 ran a slow statement a few times.
  for (int i = 0; i < 3; ++i) RecordExecution(r.state, Sample(7, 80.0, 1 + i, 20), share);
  // Role 30 floods 30x the table with distinct cheap statements.
  for (uint64_t k = 1000; k < 1000 + 30 * kMax; ++k) {
    RecordExecution(r.state, Sample(k, 0.05, static_cast<int64_t>(k), 30), share);
    ASSERT_LE(RolePatterns(r.state, 30), static_cast<uint32_t>(share * kMax));
  }
  ASSERT_NE(FindPattern(r.state, 7), nullptr);
  EXPECT_EQ(FindPattern(r.state, 7)->executions, 3u);
  EXPECT_EQ(RolePatterns(r.state, 30), static_cast<uint32_t>(share * kMax));
  EXPECT_EQ(RolePatterns(r.state, 20), 1u);
  // The rest of the table is free for other roles: role 40 gets its patterns in.
  for (uint64_t k = 1; k <= 50; ++k) RecordExecution(r.state, Sample(k * 7919, 0.05, 100000, 40), share);
  EXPECT_EQ(RolePatterns(r.state, 40), 50u);
  // Owner counts match the table.
  std::map<uint32_t, uint32_t> by_role;
  for (uint32_t i = 0; i < r.state->slot_count; ++i) {
    const PatternEntry& e = PatternSlots(r.state)[i];
    if (e.key != 0) ++by_role[e.role_oid];
  }
  for (auto [role, n] : by_role) EXPECT_EQ(RolePatterns(r.state, role), n) << role;
}

TEST(SharedStateTest, ShareLimitAppliesOnlyWhileOthersHoldPatterns) {
  const uint32_t kMax = 64;
  Region r(kMax, 8);
  // Alone, a role may fill the whole table.
  for (uint64_t k = 1; k <= kMax; ++k) RecordExecution(r.state, Sample(k, 1.0, 1, 30), 0.25);
  EXPECT_EQ(RolePatterns(r.state, 30), kMax);
  // Another role arrives: it takes slots from the role above its share
  // (even though that role's patterns are worth more), up to its own share...
  for (uint64_t k = 1; k <= 10; ++k) RecordExecution(r.state, Sample(500 + k, 0.5, 2, 40), 0.25);
  EXPECT_EQ(RolePatterns(r.state, 40), 10u);
  EXPECT_EQ(RolePatterns(r.state, 30), kMax - 10);
  for (uint64_t k = 11; k <= 30; ++k) RecordExecution(r.state, Sample(500 + k, 0.5, 2, 40), 0.25);
  EXPECT_EQ(RolePatterns(r.state, 40), kMax / 4);
  // ...and the role above its share only recycles its own slots.
  for (uint64_t k = 1; k <= 100; ++k) RecordExecution(r.state, Sample(900 + k, 100.0, 3, 30), 0.25);
  EXPECT_EQ(RolePatterns(r.state, 40), kMax / 4);
  EXPECT_EQ(RolePatterns(r.state, 30), kMax - kMax / 4);
  // The same holds per database.
  Region d(kMax, 8);
  for (uint64_t k = 1; k <= 10; ++k) RecordExecution(d.state, Sample(k, 50.0, 1, 10, 5), 0.25);
  for (uint64_t k = 100; k < 400; ++k) RecordExecution(d.state, Sample(k, 0.1, 2, static_cast<uint32_t>(k), 6), 0.25);
  EXPECT_LE(DatabasePatterns(d.state, 6), kMax / 4);
  EXPECT_EQ(DatabasePatterns(d.state, 5), 10u);
  EXPECT_GT(d.state->counters.patterns_evicted, 0u);
}

TEST(SharedStateTest, ConcurrentUpdatesAndAppendsLoseNothing) {
  Region r(64, 256);
  for (uint64_t k = 1; k <= 4; ++k) RecordExecution(r.state, Sample(k, 1.0, 1));
  constexpr int kThreads = 4, kPerThread = 20000;
  std::atomic<bool> stop{false}, reading{false};
  std::atomic<uint64_t> torn{0}, copies{0};
  // A reader copying records while writers wrap the ring many times (and
  // once more after they finished).
  std::thread reader([&] {
    TrajectoryRecord t;
    for (bool last = false; !last;) {
      last = stop.load();
      reading = true;
      uint64_t next = RingNextSeq(r.state);
      for (uint64_t seq = RingFirstSeq(r.state); seq < next; ++seq) {
        if (!CopyRingRecord(r.state, seq, &t)) continue;
        ++copies;
        // Writers fill every field from one value: a mix means a torn copy.
        if (t.query_id != t.pattern_key || t.shape_hash != t.pattern_key * 3) ++torn;
      }
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kThreads; ++w) {
    writers.emplace_back([&, w] {
      while (!reading.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        ExecutionSample x = Sample(1 + (i + w) % 4, 1.0, 2 + i);
        ASSERT_EQ(UpdatePattern(r.state, x), UpdateResult::kUpdated);
        TrajectoryRecord t;
        t.pattern_key = static_cast<uint64_t>(w) * 1000000 + i + 1;
        t.query_id = t.pattern_key;
        t.shape_hash = t.pattern_key * 3;
        AppendTrajectory(r.state, t);
      }
    });
  }
  for (auto& t : writers) t.join();
  stop = true;
  reader.join();
  uint64_t total = 0;
  for (uint64_t k = 1; k <= 4; ++k) total += FindPattern(r.state, k)->executions;
  EXPECT_EQ(total, 4u + kThreads * kPerThread);
  EXPECT_EQ(r.state->counters.trajectories_written, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(RingNextSeq(r.state), uint64_t{kThreads} * kPerThread + 1);
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_GT(copies.load(), 0u);
  // Nothing consumed: every overwritten record counts as dropped, and every
  // slot holds one of the newest records.
  EXPECT_EQ(r.state->counters.trajectories_dropped, uint64_t{kThreads} * kPerThread - 256);
  for (uint64_t seq = RingFirstSeq(r.state); seq < RingNextSeq(r.state); ++seq) {
    EXPECT_NE(RingRecord(r.state, seq), nullptr) << seq;
  }
}

TEST(SharedStateTest, RingDropsOldestAndCountsDrops) {
  Region r(16, 4);
  for (int i = 0; i < 6; ++i) {
    TrajectoryRecord t;
    t.latency_ms = i;
    AppendTrajectory(r.state, t);
  }
  EXPECT_EQ(r.state->counters.trajectories_written, 6u);
  EXPECT_EQ(r.state->counters.trajectories_dropped, 2u);
  EXPECT_EQ(RingFirstSeq(r.state), 3u);
  EXPECT_EQ(RingRecord(r.state, 2), nullptr);
  ASSERT_NE(RingRecord(r.state, 6), nullptr);
  EXPECT_DOUBLE_EQ(RingRecord(r.state, 6)->latency_ms, 5.0);
  EXPECT_EQ(RingRecord(r.state, 7), nullptr);
}

TEST(SharedStateTest, RingReadersTellOverwrittenFromUnpublished) {
  Region r(16, 4);
  for (int i = 0; i < 6; ++i) AppendTrajectory(r.state, TrajectoryRecord());
  TrajectoryRecord t;
  EXPECT_EQ(CopyRingRecordAt(r.state, 1, &t), RingCopy::kGone);  // overwritten
  EXPECT_EQ(CopyRingRecordAt(r.state, 6, &t), RingCopy::kCopied);
  EXPECT_EQ(t.seq, 6u);
  EXPECT_EQ(CopyRingRecordAt(r.state, 7, &t), RingCopy::kPending);  // not written yet
  // A writer took seq 7 but has not published it: the slot still holds 3.
  r.state->ring_next_seq = 8;
  EXPECT_EQ(CopyRingRecordAt(r.state, 7, &t), RingCopy::kPending);
  EXPECT_FALSE(CopyRingRecord(r.state, 7, &t));
  // The consumed cursor only grows; overwriting a consumed record is no drop.
  AdvanceConsumed(r.state, 5);
  AdvanceConsumed(r.state, 3);
  EXPECT_EQ(r.state->ring_consumed_seq, 5u);
  r.state->ring_next_seq = 7;
  const uint64_t dropped = r.state->counters.trajectories_dropped;
  AppendTrajectory(r.state, TrajectoryRecord());  // seq 7 overwrites 3 (consumed)
  EXPECT_EQ(r.state->counters.trajectories_dropped, dropped);
  AppendTrajectory(r.state, TrajectoryRecord());  // seq 8 overwrites 4 (consumed)
  AppendTrajectory(r.state, TrajectoryRecord());  // seq 9 overwrites 5 (consumed)
  AppendTrajectory(r.state, TrajectoryRecord());  // seq 10 overwrites 6 (not consumed)
  EXPECT_EQ(r.state->counters.trajectories_dropped, dropped + 1);
}

TEST(SharedStateTest, AHeaderCopyReadsTheHeaderAndLeavesThePlanAlone) {
  Region r(16, 4);
  TrajectoryRecord w;
  w.pattern_key = 42;
  w.latency_ms = 3.5;
  w.relation_count = 1;
  w.relations[0] = 7;
  w.node_count = 2;
  w.flags = kTrajectoryRowsMeasured;
  w.role_oid = 10;
  w.node_type[0] = 5;
  w.actual_rows[1] = 9.0f;
  AppendTrajectory(r.state, w);
  TrajectoryRecord t;
  t.node_type[0] = 99;
  t.actual_rows[1] = -1.0f;
  ASSERT_EQ(CopyRingHeaderAt(r.state, 1, &t), RingCopy::kCopied);
  EXPECT_EQ(t.seq, 1u);
  EXPECT_EQ(t.pattern_key, 42u);
  EXPECT_DOUBLE_EQ(t.latency_ms, 3.5);
  EXPECT_EQ(t.relations[0], 7u);
  EXPECT_EQ(t.node_count, 2u);
  EXPECT_EQ(t.flags, kTrajectoryRowsMeasured);
  EXPECT_EQ(t.role_oid, 10u);
  EXPECT_EQ(t.node_type[0], 99);  // the per-node arrays are not copied
  EXPECT_FLOAT_EQ(t.actual_rows[1], -1.0f);
  ASSERT_EQ(CopyRingRecordAt(r.state, 1, &t), RingCopy::kCopied);
  EXPECT_EQ(t.node_type[0], 5);
  EXPECT_FLOAT_EQ(t.actual_rows[1], 9.0f);
  EXPECT_EQ(CopyRingHeaderAt(r.state, 2, &t), RingCopy::kPending);
}

TEST(SharedStateTest, ImageRoundTripsAndRejectsEveryCorruption) {
  Region a(64, 16);
  for (int i = 0; i < 40; ++i) {
    Record(a.state, 100 + i % 10, i, i, 1, 3, 1.0 + i, i + 1);
    TrajectoryRecord t;
    t.pattern_key = 100 + i % 10;
    t.latency_ms = 1.0 + i;
    AppendTrajectory(a.state, t);
  }
  std::string image = Image(a.state);

  Region b(64, 16);
  size_t patterns = 0, trajectories = 0;
  ASSERT_TRUE(DeserializeState(image, b.state, &patterns, &trajectories).ok());
  EXPECT_EQ(patterns, 10u);
  EXPECT_EQ(trajectories, 16u);
  EXPECT_EQ(Image(b.state), image);

  // Every single-byte change and every truncation is detected; the target
  // stays unchanged.
  Region c(64, 16);
  std::string empty = Image(c.state);
  for (size_t i = 0; i < image.size(); i += 7) {
    std::string bad = image;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    EXPECT_FALSE(DeserializeState(bad, c.state, nullptr, nullptr).ok()) << "byte " << i;
  }
  for (size_t len : {size_t{0}, size_t{10}, size_t{79}, size_t{80}, image.size() / 2, image.size() - 1}) {
    EXPECT_FALSE(DeserializeState(image.substr(0, len), c.state, nullptr, nullptr).ok()) << "length " << len;
  }
  EXPECT_FALSE(DeserializeState(image + "x", c.state, nullptr, nullptr).ok());
  EXPECT_EQ(Image(c.state), empty);
}

TEST(SharedStateTest, AVersion5ImageLoadsWithRecordsOfOneRunEach) {
  Region a(64, 8);
  for (int i = 0; i < 6; ++i) {
    Record(a.state, 100 + i % 3, i, i, 1, 3, 1.0 + i, i + 1);
    TrajectoryRecord t;
    t.pattern_key = 100 + i % 3;
    t.latency_ms = 1.0 + i;
    t.relation_count = 1;
    t.relations[0] = 1234;
    t.node_count = 2;
    t.node_type[1] = 7;
    t.parent_plus_one[1] = 1;
    t.relset[1] = 99;
    AppendTrajectory(a.state, t);
  }
  const std::string image = Image(a.state);
  // Version 5 wrote the same header and records without also_runs and
  // also_latency_ms (offsets 140..151), 1,104 bytes each.
  constexpr size_t kHeader = 80, kOld = 1104, kCut = 140, kGap = 12;
  uint32_t patterns, trajectories;
  std::memcpy(&patterns, image.data() + 28, 4);
  std::memcpy(&trajectories, image.data() + 32, 4);
  ASSERT_EQ(trajectories, 6u);
  const size_t records_at = kHeader + sizeof(SharedCounters) + patterns * sizeof(PatternEntry);
  std::string v5 = image.substr(0, records_at);
  for (uint32_t i = 0; i < trajectories; ++i) {
    const char* rec = image.data() + records_at + i * sizeof(TrajectoryRecord);
    std::string old(rec, kCut);
    old.append(rec + kCut + kGap, sizeof(TrajectoryRecord) - kCut - kGap);
    old.resize(kOld, '\0');
    v5 += old;
  }
  const uint32_t version = 5, size = kOld;
  const uint64_t payload = v5.size() - kHeader;
  std::memcpy(v5.data() + 8, &version, 4);
  std::memcpy(v5.data() + 24, &size, 4);
  std::memcpy(v5.data() + 64, &payload, 8);
  const uint32_t payload_crc = ruvector_dag::Crc32c(v5.data() + kHeader, payload);
  std::memcpy(v5.data() + 72, &payload_crc, 4);
  const uint32_t header_crc = ruvector_dag::Crc32c(v5.data(), 76);
  std::memcpy(v5.data() + 76, &header_crc, 4);

  Region b(64, 8);
  size_t loaded_patterns = 0, loaded = 0;
  const ruvector_dag::Status st = DeserializeState(v5, b.state, &loaded_patterns, &loaded);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(loaded_patterns, 3u);
  EXPECT_EQ(loaded, 6u);
  EXPECT_EQ(Image(b.state), image);  // the same records, each of one run
  TrajectoryRecord t;
  ASSERT_TRUE(CopyRingRecord(b.state, RingNextSeq(b.state) - 1, &t));
  EXPECT_EQ(t.also_runs, 0u);
  EXPECT_EQ(t.relset[1], 99u);
  EXPECT_EQ(t.node_type[1], 7);
  // Another version is refused with a message naming both.
  std::string v4 = v5;
  const uint32_t four = 4;
  std::memcpy(v4.data() + 8, &four, 4);
  const uint32_t crc4 = ruvector_dag::Crc32c(v4.data(), 76);
  std::memcpy(v4.data() + 76, &crc4, 4);
  const ruvector_dag::Status refused = DeserializeState(v4, b.state, nullptr, nullptr);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.ToString().find("version 4"), std::string::npos) << refused.ToString();
}

TEST(SharedStateTest, ImageIntoSmallerTablesKeepsMostValuable) {
  Region a(64, 16);
  for (int i = 0; i < 30; ++i) {
    Record(a.state, 1000 + i, 0, 0, 0, 1, 1.0 + i, i + 1);
    TrajectoryRecord t;
    AppendTrajectory(a.state, t);
  }
  Region b(16, 4);
  size_t patterns = 0, trajectories = 0;
  ASSERT_TRUE(DeserializeState(Image(a.state), b.state, &patterns, &trajectories).ok());
  EXPECT_EQ(patterns, 16u);
  EXPECT_EQ(trajectories, 4u);
  EXPECT_NE(FindPattern(b.state, 1029), nullptr);
  EXPECT_EQ(FindPattern(b.state, 1000), nullptr);
  EXPECT_NE(RingRecord(b.state, 30), nullptr);
  EXPECT_EQ(RingRecord(b.state, 26), nullptr);
  // Appending continues the sequence.
  AppendTrajectory(b.state, TrajectoryRecord());
  EXPECT_NE(RingRecord(b.state, 31), nullptr);
}

PlanSnapshot Snapshot(std::vector<PlanNodeSnapshot>& nodes) {
  PlanSnapshot s;
  s.query_id = 99;
  s.count = static_cast<int32_t>(nodes.size());
  s.nodes = nodes.data();
  return s;
}

PlanNodeSnapshot Node(int parent, ruvector_dag::OperatorType type, double total, double rows) {
  PlanNodeSnapshot n;
  n.parent = parent;
  n.type = static_cast<uint8_t>(type);
  n.total_cost = total;
  n.plan_rows = rows;
  return n;
}

TEST(BridgeTest, BuildsTheDagInExplainOrder) {
  using ruvector_dag::OperatorType;
  std::vector<PlanNodeSnapshot> nodes = {
      Node(-1, OperatorType::kHashJoin, 100, 10), Node(0, OperatorType::kSeqScan, 40, 1000),
      Node(0, OperatorType::kHash, 30, 100), Node(2, OperatorType::kSeqScan, 30, 100)};
  nodes[1].relation = "orders";
  PlanSnapshot s = Snapshot(nodes);
  ruvector_dag::QueryDag dag;
  ASSERT_TRUE(BuildDag(s, &dag).ok());
  EXPECT_EQ(dag.node_count(), 4u);
  EXPECT_EQ(dag.parents(0), (std::vector<ruvector_dag::NodeId>{1, 2}));  // inputs, outer first
  EXPECT_DOUBLE_EQ(dag.node(0)->estimated_cost, 30.0);                    // 100 - 40 - 30
  EXPECT_DOUBLE_EQ(dag.node(2)->estimated_cost, 0.0);
  EXPECT_EQ(dag.node(1)->relation, "orders");

  PlanIdentity id = IdentifyPlan(99, dag, 5, 10);
  EXPECT_EQ(id.param_bucket, 10u);  // floor(log2(1 + 1100))
  EXPECT_EQ(id.shape_hash, dag.ShapeHash());
  EXPECT_EQ(IdentifyPlan(99, dag, 5, 10).pattern_key, id.pattern_key);
  EXPECT_NE(IdentifyPlan(98, dag, 5, 10).pattern_key, id.pattern_key);
  // The same statement in another database or by another role is another pattern.
  EXPECT_NE(IdentifyPlan(99, dag, 6, 10).pattern_key, id.pattern_key);
  EXPECT_NE(IdentifyPlan(99, dag, 5, 11).pattern_key, id.pattern_key);
  EXPECT_EQ(IdentifyPlan(99, dag, 6, 11).statement_key, id.statement_key);
  EXPECT_EQ(ScopePatternKey(id.statement_key, 5, 10), id.pattern_key);
  EXPECT_EQ(id.database_oid, 5u);
  EXPECT_EQ(id.role_oid, 10u);
  // The hot path's identity (no DAG) equals the DAG's.
  s.database_oid = 5;
  s.role_oid = 10;
  PlanIdentity fast;
  ASSERT_TRUE(IdentifySnapshot(s, &fast).ok());
  EXPECT_EQ(fast.pattern_key, id.pattern_key);
  EXPECT_EQ(fast.shape_hash, id.shape_hash);
  EXPECT_EQ(fast.param_bucket, id.param_bucket);
  EXPECT_EQ(fast.statement_key, id.statement_key);
  PlanTemplate tmpl;
  TemplateFromSnapshot(s, fast.shape_hash, &tmpl);
  TrajectoryRecord rec;
  FillFromTemplate(tmpl, &rec);
  EXPECT_EQ(rec.node_count, 4u);
  EXPECT_EQ(rec.shape_hash, dag.ShapeHash());
  EXPECT_EQ(rec.parent_plus_one[3], 3u);
  EXPECT_EQ(rec.actual_rows[0], -1.0f);
  EXPECT_FLOAT_EQ(rec.estimated_rows[1], 1000.0f);
  nodes[2].parent = 3;  // malformed: an edge to a later node
  EXPECT_FALSE(IdentifySnapshot(s, &fast).ok());
  nodes[2].parent = 0;

  PlanReport report;
  ASSERT_TRUE(AnalyzeSnapshot(s, &report).ok());
  ASSERT_EQ(report.nodes.size(), 4u);
  EXPECT_DOUBLE_EQ(report.nodes[1].bottleneck_score, 1.0);  // largest own cost (40)
  EXPECT_EQ(report.critical_path.nodes.back(), 0u);

  for (const char* format : {"dot", "json", "ascii", "mermaid"}) {
    ruvector_dag::AttentionScores scores;
    AttentionChoice choice;
    ASSERT_TRUE(ComputeAttentionFor(dag, "auto", false, &scores, &choice).ok());
    std::string text;
    ASSERT_TRUE(VisualizeAttention(dag, scores, choice, format, &text).ok()) << format;
    EXPECT_NE(text.find("orders"), std::string::npos) << format;
  }
  ruvector_dag::AttentionScores scores;
  AttentionChoice choice;
  EXPECT_FALSE(ComputeAttentionFor(dag, "bogus", false, &scores, &choice).ok());
  std::string text;
  EXPECT_FALSE(VisualizeAttention(dag, scores, choice, "svg", &text).ok());
}

TEST(BridgeTest, RejectsMalformedSnapshots) {
  using ruvector_dag::OperatorType;
  std::vector<PlanNodeSnapshot> nodes = {Node(-1, OperatorType::kLimit, 1, 1), Node(1, OperatorType::kSeqScan, 1, 1)};
  PlanSnapshot s = Snapshot(nodes);
  ruvector_dag::QueryDag dag;
  EXPECT_FALSE(BuildDag(s, &dag).ok());  // parent does not precede the node
  nodes[1].parent = 0;
  nodes[1].type = 250;
  EXPECT_FALSE(BuildDag(s, &dag).ok());  // unknown operator type
  PlanSnapshot empty;
  EXPECT_FALSE(BuildDag(empty, &dag).ok());
}

}  // namespace
}  // namespace ruvector_pg
