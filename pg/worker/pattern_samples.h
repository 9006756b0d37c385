// What the worker's per-pattern learners of plan content (row corrections,
// hint arms) share: the relations a pattern reads (its drift scope), the
// least recently observed pattern, and feeding a learner a pass's collected
// samples and drift notices, and (PG zone) handing the result to PostgreSQL.
// Plain data and no PostgreSQL headers, but for HandToPg (after shim.h).
#ifndef RUVECTOR_PG_WORKER_PATTERN_SAMPLES_H_
#define RUVECTOR_PG_WORKER_PATTERN_SAMPLES_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include "state/steer_state.h"

namespace ruvector_pg {

/// Relations kept per pattern as its drift scope.
inline constexpr size_t kMaxScopeRelations = 64;

/// Adds the relations of `from` that `scope` lacks (at most kMaxScopeRelations).
inline void AddScopeRelations(const std::vector<uint32_t>& from, std::vector<uint32_t>* scope) {
  for (uint32_t relid : from) {
    if (scope->size() >= kMaxScopeRelations) break;
    if (std::find(scope->begin(), scope->end(), relid) == scope->end()) scope->push_back(relid);
  }
}

/// The key of the least recently observed pattern of a non-empty map whose
/// values have `last_us`. O(patterns).
template <typename Map>
uint64_t LeastRecentPattern(const Map& patterns) {
  auto oldest = patterns.begin();
  for (auto it = patterns.begin(); it != patterns.end(); ++it) {
    if (it->second.last_us < oldest->second.last_us) oldest = it;
  }
  return oldest->first;
}

/// Makes `learner` forget the patterns each drift notice names
/// (Learner::ForgetTouching).
template <typename Learner>
void ForgetDrifted(const DriftNotice* notices, int count, Learner* learner) {
  for (int i = 0; i < count; ++i) {
    const DriftNotice& n = notices[i];
    std::vector<uint32_t> relations(n.relations, n.relations + std::clamp(n.relation_count, 0, kDriftRelations));
    learner->ForgetTouching(n.database_oid, relations, n.relation_count < 0);
  }
}

/// Feeds `learner` the collected samples (each with pattern_key,
/// database_oid, may_stop_early, nodes[count] and relations[relation_count])
/// as `Sample`s (the same fields as vectors).
template <typename Sample, typename Collected, typename Learner>
void ObserveCollected(const Collected* collected, int count, int64_t now_us, Learner* learner) {
  Sample sample;
  for (int i = 0; i < count; ++i) {
    const Collected& c = collected[i];
    sample.pattern_key = c.pattern_key;
    sample.database_oid = c.database_oid;
    sample.may_stop_early = c.may_stop_early;
    sample.nodes.assign(c.nodes, c.nodes + c.count);
    sample.relations.assign(c.relations, c.relations + c.relation_count);
    learner->Observe(sample, now_us);
  }
}

}  // namespace ruvector_pg

#ifdef PG_VERSION_NUM  // PG zone only (shim.h included first)
namespace ruvector_pg {

/// Hands what the C++ zone made in `*made` (a new'd vector of plain data,
/// deleted here) to PG-zone code: copies it into palloc'd memory first, so
/// that nothing can throw with the vector alive while `publish` takes locks
/// or ereports, then calls publish(items, count).
template <typename T>
void HandToPg(std::vector<T>* made, void (*publish)(const T*, size_t)) {
  const size_t n = made->size();
  T* copy = static_cast<T*>(palloc(sizeof(T) * (n + 1)));
  if (n > 0) memcpy(static_cast<void*>(copy), made->data(), sizeof(T) * n);
  delete made;
  publish(copy, n);
  pfree(copy);
}

}  // namespace ruvector_pg
#endif  // PG_VERSION_NUM

#endif  // RUVECTOR_PG_WORKER_PATTERN_SAMPLES_H_
