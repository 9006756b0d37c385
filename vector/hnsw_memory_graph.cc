// C++ zone: no PostgreSQL headers.
#include "hnsw_memory_graph.h"

#include <algorithm>

namespace ruvector_vec {

void MemoryGraph::NewEpoch() {
  if (++epoch_ == 0) {  // wrapped: forget every mark
    std::fill(visited_.begin(), visited_.end(), 0u);
    epoch_ = 1;
  }
}

void MemoryGraph::Add(const float* v) {
  const int dims = params_.dims;
  const uint32_t id = static_cast<uint32_t>(levels_.size());
  vectors_.insert(vectors_.end(), v, v + dims);
  const int level = LevelFromUniform(1.0 - UniformDouble(&rng_), params_.m, params_.max_level);
  levels_.push_back(static_cast<uint8_t>(level));
  links_.emplace_back(level + 1);
  visited_.push_back(0);
  bytes_ += dims * sizeof(float) + sizeof(uint32_t) * (2 * params_.m + level * params_.m) + 32 * (level + 2);
  if (top_level_ < 0) {
    entry_ = id;
    top_level_ = level;
    return;
  }
  query_ = vector(id);
  float d;
  Distance(entry_, &d);
  results_.assign(1, Candidate{entry_, d});
  for (int l = top_level_; l >= 0; l--) {
    NewEpoch();
    for (const Candidate& c : results_) Visit(c.id);
    if (l > level) {
      SearchLayer(*this, l, 1, results_, work_);
      continue;
    }
    SearchLayer(*this, l, params_.ef_construction, results_, work_);
    sorted_.assign(results_.begin(), results_.end());
    std::sort(sorted_.begin(), sorted_.end(), [](const Candidate& a, const Candidate& b) { return a.dist < b.dist; });
    vecs_.clear();
    for (const Candidate& c : sorted_) vecs_.push_back(vector(c.id));
    picked_.resize(params_.m);
    int k = SelectNeighbors(sorted_.data(), vecs_.data(), static_cast<int>(sorted_.size()), params_.m, params_.metric,
                            dims, picked_.data());
    std::vector<uint32_t>& mine = links_[id][l];
    for (int i = 0; i < k; i++) mine.push_back(static_cast<uint32_t>(sorted_[picked_[i]].id));
    for (int i = 0; i < k; i++) Connect(static_cast<uint32_t>(sorted_[picked_[i]].id), id, l);
  }
  if (level > top_level_) {
    top_level_ = level;
    entry_ = id;
  }
}

std::vector<Candidate> MemoryGraph::Search(const float* q, int ef) {
  std::vector<Candidate> results;
  if (top_level_ < 0) return results;
  query_ = q;
  float d;
  Distance(entry_, &d);
  results.assign(1, Candidate{entry_, d});
  for (int l = top_level_; l >= 0; l--) {
    NewEpoch();
    for (const Candidate& c : results) Visit(c.id);
    SearchLayer(*this, l, l > 0 ? 1 : ef, results, work_);
  }
  std::sort(results.begin(), results.end(), [](const Candidate& a, const Candidate& b) { return a.dist < b.dist; });
  return results;
}

void MemoryGraph::Connect(uint32_t from, uint32_t to, int level) {
  std::vector<uint32_t>& list = links_[from][level];
  const int cap = LayerCapacity(level, params_.m);
  if (static_cast<int>(list.size()) < cap) {
    list.push_back(to);
    return;
  }
  // Full: keep the heuristic's choice among the old neighbors and the new one.
  const float* base = vector(from);
  std::vector<Candidate> cands;
  cands.reserve(list.size() + 1);
  for (uint32_t n : list) cands.push_back(Candidate{n, IndexDistance(params_.metric, base, vector(n), params_.dims)});
  cands.push_back(Candidate{to, IndexDistance(params_.metric, base, vector(to), params_.dims)});
  std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) { return a.dist < b.dist; });
  std::vector<const float*> vecs;
  vecs.reserve(cands.size());
  for (const Candidate& c : cands) vecs.push_back(vector(c.id));
  std::vector<int> picked(cap);
  int k = SelectNeighbors(cands.data(), vecs.data(), static_cast<int>(cands.size()), cap, params_.metric,
                          params_.dims, picked.data());
  list.clear();
  for (int i = 0; i < k; i++) list.push_back(static_cast<uint32_t>(cands[picked[i]].id));
}

}  // namespace ruvector_vec
