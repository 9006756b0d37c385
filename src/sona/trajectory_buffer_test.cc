#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ruvector_dag/sona.h"

namespace ruvector_dag {
namespace {

Trajectory Make(uint64_t producer, uint64_t seq) {
  Trajectory t;
  t.pattern_key = producer;
  t.timestamp_us = static_cast<int64_t>(seq);
  t.latency_ms = static_cast<double>(seq);
  t.actual_rows.assign(3, static_cast<float>(seq));
  return t;
}

TEST(TrajectoryBufferTest, FifoAndCapacityRounding) {
  TrajectoryBuffer b(5);
  EXPECT_EQ(b.capacity(), 8u);
  for (uint64_t i = 0; i < 5; ++i) b.Push(Make(0, i));
  EXPECT_EQ(b.size(), 5u);
  Trajectory t;
  for (uint64_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(b.Pop(&t));
    EXPECT_EQ(t.timestamp_us, static_cast<int64_t>(i));
    EXPECT_EQ(t.actual_rows.size(), 3u);
  }
  EXPECT_FALSE(b.Pop(&t));
  EXPECT_EQ(b.dropped(), 0u);
}

TEST(TrajectoryBufferTest, DropsOldestWhenFull) {
  TrajectoryBuffer b(8);
  for (uint64_t i = 0; i < 20; ++i) b.Push(Make(0, i));
  EXPECT_EQ(b.pushed(), 20u);
  EXPECT_EQ(b.dropped(), 12u);
  std::vector<Trajectory> out;
  EXPECT_EQ(b.Drain(&out), 8u);
  ASSERT_EQ(out.size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(out[i].timestamp_us, static_cast<int64_t>(12 + i));
}

TEST(TrajectoryBufferTest, ManyProducersOneConsumer) {
  constexpr int kProducers = 4;
  constexpr uint64_t kPerProducer = 20000;
  TrajectoryBuffer b(256);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&b, p] {
      for (uint64_t i = 0; i < kPerProducer; ++i) b.Push(Make(static_cast<uint64_t>(p), i));
    });
  }
  std::vector<int64_t> last(kProducers, -1);
  uint64_t popped = 0;
  bool ordered = true, intact = true;
  std::atomic<bool> done{false};
  std::thread consumer([&] {
    Trajectory t;
    for (;;) {
      const bool finished = done.load(std::memory_order_acquire);
      while (b.Pop(&t)) {
        ++popped;
        // Per producer, records come out in the order they went in.
        if (t.timestamp_us <= last[t.pattern_key]) ordered = false;
        last[t.pattern_key] = t.timestamp_us;
        if (t.actual_rows.size() != 3 || t.actual_rows[0] != static_cast<float>(t.timestamp_us)) {
          intact = false;
        }
      }
      if (finished) break;
    }
  });
  for (auto& th : producers) th.join();
  done.store(true, std::memory_order_release);
  consumer.join();
  EXPECT_TRUE(ordered);
  EXPECT_TRUE(intact);
  EXPECT_EQ(b.pushed(), kProducers * kPerProducer);
  // Every record was either consumed or dropped, exactly once.
  EXPECT_EQ(popped + b.dropped(), kProducers * kPerProducer);
  EXPECT_EQ(b.size(), 0u);
}

TEST(TrajectoryBufferTest, ManyProducersManyConsumers) {
  constexpr int kThreads = 3;
  constexpr uint64_t kPerProducer = 10000;
  TrajectoryBuffer b(64);
  std::atomic<uint64_t> popped{0};
  std::atomic<int> producers_left{kThreads};
  std::vector<std::thread> threads;
  for (int p = 0; p < kThreads; ++p) {
    threads.emplace_back([&, p] {
      for (uint64_t i = 0; i < kPerProducer; ++i) b.Push(Make(static_cast<uint64_t>(p), i));
      producers_left.fetch_sub(1);
    });
    threads.emplace_back([&] {
      Trajectory t;
      for (;;) {
        const bool finished = producers_left.load() == 0;
        while (b.Pop(&t)) popped.fetch_add(1);
        if (finished) break;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(popped.load() + b.dropped(), kThreads * kPerProducer);
}

}  // namespace
}  // namespace ruvector_dag
