// AttentionCache: O(1) LRU (hash map + recency list) with an optional TTL.
// docs/attention.md, "Cache".
#include <utility>

#include "attention/internal/common.h"
#include "ruvector_dag/attention.h"

namespace ruvector_dag {
namespace {

// A fast in-process mix (cache keys are never persisted): multiply-xorshift
// with a 64-bit odd constant, one multiplication per word.
inline uint64_t Mix(uint64_t h, uint64_t v) {
  h = (h ^ v) * 0x9E3779B97F4A7C15ULL;
  return h ^ (h >> 29);
}
inline uint64_t MixReal(uint64_t h, double v) { return Mix(h, HashDouble(v)); }
inline uint64_t MixOptional(uint64_t h, const std::optional<double>& v) {
  return v ? MixReal(Mix(h, 1), *v) : Mix(h, 0);
}

}  // namespace

uint64_t AttentionContentHash(const QueryDag& dag) {
  uint64_t h = Mix(0xA77E11u, dag.node_count());
  const NodeId bound = dag.id_bound();
  for (NodeId id = 0; id < bound; ++id) {
    const OperatorNode* n = dag.node(id);
    if (n == nullptr) continue;
    h = Mix(h, (uint64_t{id} << 8) | static_cast<uint64_t>(n->type));
    h = MixReal(h, n->estimated_cost);
    h = MixReal(h, n->estimated_rows);
    h = MixReal(h, n->total_cost);
    h = MixOptional(h, n->actual_rows);
    h = MixOptional(h, n->actual_time_ms);
    h = MixOptional(h, n->actual_loops);
    // Inputs in order (outer before inner), then a separator.
    for (NodeId p : dag.parents(id)) h = Mix(h, p);
    h = Mix(h, 0xFFFFFFFFFFull);
    if (!n->relation.empty()) h = Mix(h, Hash64(n->relation));
    if (!n->index.empty()) h = Mix(h, Hash64(n->index, 1));
  }
  return h;
}

AttentionCacheKey MakeAttentionCacheKey(const QueryDag& dag, const Attention& attention,
                                        const ExecutionFeedback* feedback) {
  AttentionCacheKey key;
  key.content_hash = AttentionContentHash(dag);
  key.state_hash = attention.StateHash();
  key.mechanism = attention.mechanism();
  if (feedback != nullptr) {
    uint64_t h = HashCombine(0xFEEDu, feedback->node_time_ms.size());
    for (double v : feedback->node_time_ms) h = attention_internal::MixDouble(h, v);
    h = HashCombine(h, feedback->latency_samples_ms.size());
    for (double v : feedback->latency_samples_ms) h = attention_internal::MixDouble(h, v);
    key.feedback_hash = h;
  }
  return key;
}

size_t AttentionCache::KeyHash::operator()(const AttentionCacheKey& k) const {
  uint64_t h = HashCombine(k.content_hash, k.state_hash);
  h = HashCombine(h, k.feedback_hash);
  return static_cast<size_t>(HashCombine(h, static_cast<uint64_t>(k.mechanism)));
}

AttentionCache::AttentionCache(AttentionCacheOptions options)
    : options_(options),
      clock_(options.clock != nullptr ? options.clock : SystemAttentionClock()) {
  if (options_.capacity < 1) options_.capacity = 1;
  stats_.capacity = options_.capacity;
  index_.reserve(std::min<size_t>(options_.capacity, 1 << 16));
}

bool AttentionCache::Expired(const Entry& entry, int64_t now) const {
  return options_.ttl_micros > 0 && now - entry.inserted_micros >= options_.ttl_micros;
}

const AttentionScores* AttentionCache::Find(const AttentionCacheKey& key) {
  const auto it = index_.find(key);
  if (it == index_.end()) {
    ++stats_.misses;
    return nullptr;
  }
  if (options_.ttl_micros > 0 && Expired(*it->second, clock_->NowMicros())) {
    lru_.erase(it->second);
    index_.erase(it);
    ++stats_.expirations;
    ++stats_.misses;
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);  // most recently used first
  ++stats_.hits;
  return &it->second->scores;
}

void AttentionCache::Insert(const AttentionCacheKey& key, AttentionScores scores) {
  const int64_t now = options_.ttl_micros > 0 ? clock_->NowMicros() : 0;
  const auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->scores = std::move(scores);
    it->second->inserted_micros = now;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  if (lru_.size() >= options_.capacity) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
    ++stats_.evictions;
  }
  lru_.push_front(Entry{key, std::move(scores), now});
  index_.emplace(key, lru_.begin());
}

Result<const AttentionScores*> AttentionCache::GetOrCompute(const QueryDag& dag,
                                                            const Attention& attention,
                                                            const ExecutionFeedback* feedback) {
  const AttentionCacheKey key = MakeAttentionCacheKey(dag, attention, feedback);
  if (const AttentionScores* hit = Find(key)) return hit;
  RUVECTOR_ASSIGN_OR_RETURN(PreparedDag plan, PreparedDag::Build(dag));
  AttentionScores scores;
  RUVECTOR_RETURN_IF_ERROR(attention.Compute(plan, feedback, &scores));
  Insert(key, std::move(scores));
  return &lru_.front().scores;
}

bool AttentionCache::Erase(const AttentionCacheKey& key) {
  const auto it = index_.find(key);
  if (it == index_.end()) return false;
  lru_.erase(it->second);
  index_.erase(it);
  return true;
}

void AttentionCache::Clear() {
  lru_.clear();
  index_.clear();
}

AttentionCacheStats AttentionCache::Stats() const {
  AttentionCacheStats s = stats_;
  s.size = lru_.size();
  s.capacity = options_.capacity;
  return s;
}

void AttentionCache::ResetStats() { stats_ = AttentionCacheStats{}; }

std::vector<AttentionCacheKey> AttentionCache::KeysByRecency() const {
  std::vector<AttentionCacheKey> keys;
  keys.reserve(lru_.size());
  for (const Entry& e : lru_) keys.push_back(e.key);
  return keys;
}

}  // namespace ruvector_dag
