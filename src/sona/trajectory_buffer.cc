#include <cstdint>

#include "ruvector_dag/sona.h"

namespace ruvector_dag {

TrajectoryBuffer::TrajectoryBuffer(size_t capacity) {
  size_t cap = 2;
  while (cap < capacity && cap < (size_t{1} << 30)) cap <<= 1;
  slots_ = std::make_unique<Slot[]>(cap);
  mask_ = cap - 1;
  for (size_t i = 0; i < cap; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
}

void TrajectoryBuffer::Push(Trajectory t) {
  for (;;) {
    size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    Slot& slot = slots_[pos & mask_];
    const size_t seq = slot.seq.load(std::memory_order_acquire);
    const intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
    if (diff == 0) {
      if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        slot.value = std::move(t);
        slot.seq.store(pos + 1, std::memory_order_release);
        pushed_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    } else if (diff < 0) {
      // Full: drop the oldest record to make room (as a consumer would).
      Trajectory oldest;
      if (Pop(&oldest)) dropped_.fetch_add(1, std::memory_order_relaxed);
    }
    // diff > 0: another producer claimed this position; reload and retry.
  }
}

bool TrajectoryBuffer::Pop(Trajectory* out) {
  for (;;) {
    size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    Slot& slot = slots_[pos & mask_];
    const size_t seq = slot.seq.load(std::memory_order_acquire);
    const intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos + 1);
    if (diff == 0) {
      if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        *out = std::move(slot.value);
        slot.seq.store(pos + mask_ + 1, std::memory_order_release);
        return true;
      }
    } else if (diff < 0) {
      return false;  // empty (or the producer of the oldest slot is mid-write)
    }
  }
}

size_t TrajectoryBuffer::Drain(std::vector<Trajectory>* out, size_t max) {
  size_t n = 0;
  Trajectory t;
  while (n < max && Pop(&t)) {
    out->push_back(std::move(t));
    ++n;
  }
  return n;
}

size_t TrajectoryBuffer::size() const {
  const size_t e = enqueue_pos_.load(std::memory_order_acquire);
  const size_t d = dequeue_pos_.load(std::memory_order_acquire);
  return e > d ? e - d : 0;
}

}  // namespace ruvector_dag
