#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <Eigen/Core>

#include "ruvector_dag/sona.h"

namespace ruvector_dag {
namespace {

constexpr uint32_t kNoCluster = 0xFFFFFFFFu;
using ConstVec = Eigen::Map<const Eigen::VectorXf>;
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

float SquaredDistance(const float* a, const float* b) {
  return (ConstVec(a, kEmbeddingDim) - ConstVec(b, kEmbeddingDim)).squaredNorm();
}

bool ValidPattern(const ReasoningPattern& p) {
  for (float v : p.embedding) {
    if (!std::isfinite(v)) return false;
  }
  return std::isfinite(p.gain) && p.quality >= 0.0 && p.quality <= 1.0;
}

double EvictionScore(const ReasoningPattern& p) {
  return p.quality * (1.0 + static_cast<double>(p.usage));
}

// Keeps the k best (distance, key) pairs; the result is sorted ascending.
void PushCandidate(std::vector<PatternMatch>* best, size_t k, float dist2, uint64_t key) {
  auto worse = [](const PatternMatch& a, const PatternMatch& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.key < b.key;
  };
  PatternMatch m;
  m.key = key;
  m.distance = dist2;  // squared until finalized
  if (best->size() < k) {
    best->push_back(m);
    std::push_heap(best->begin(), best->end(), worse);
  } else if (worse(m, best->front())) {
    std::pop_heap(best->begin(), best->end(), worse);
    best->back() = m;
    std::push_heap(best->begin(), best->end(), worse);
  }
}

void Finalize(std::vector<PatternMatch>* best) {
  std::sort(best->begin(), best->end(), [](const PatternMatch& a, const PatternMatch& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.key < b.key;
  });
  for (PatternMatch& m : *best) {
    m.distance = std::sqrt(std::max(0.0, m.distance));
    m.similarity = 1.0 / (1.0 + m.distance);
  }
}

}  // namespace

Status ValidateReasoningBankOptions(const ReasoningBankOptions& o) {
  if (o.capacity < 1) return Status::InvalidArgument("ReasoningBankOptions.capacity must be >= 1");
  if (o.probes < 1) return Status::InvalidArgument("ReasoningBankOptions.probes must be >= 1");
  if (!(o.recluster_growth > 0) || !std::isfinite(o.recluster_growth)) {
    return Status::InvalidArgument("ReasoningBankOptions.recluster_growth must be > 0");
  }
  if (o.kmeans_iterations < 1) {
    return Status::InvalidArgument("ReasoningBankOptions.kmeans_iterations must be >= 1");
  }
  if (o.kmeans_sample < 16) {
    return Status::InvalidArgument("ReasoningBankOptions.kmeans_sample must be >= 16");
  }
  if (!(o.network_trust > 0 && o.network_trust <= 1)) {
    return Status::InvalidArgument("ReasoningBankOptions.network_trust must be in (0, 1]");
  }
  return Status::Ok();
}

Result<ReasoningBank> ReasoningBank::Create(const ReasoningBankOptions& options) {
  RUVECTOR_RETURN_IF_ERROR(ValidateReasoningBankOptions(options));
  return ReasoningBank(options);
}

const ReasoningPattern* ReasoningBank::Find(uint64_t key) const {
  auto it = std::lower_bound(key_index_.begin(), key_index_.end(), std::make_pair(key, uint32_t{0}));
  if (it == key_index_.end() || it->first != key) return nullptr;
  return &patterns_[it->second];
}

int32_t ReasoningBank::ClusterOf(uint64_t key) const {
  auto it = std::lower_bound(key_index_.begin(), key_index_.end(), std::make_pair(key, uint32_t{0}));
  if (it == key_index_.end() || it->first != key) return -1;
  const uint32_t c = slot_cluster_[it->second];
  return c == kNoCluster ? -1 : static_cast<int32_t>(c);
}

uint32_t ReasoningBank::NearestCentroid(const float* x) const {
  const size_t k = cluster_count();
  uint32_t best = 0;
  float best_d = std::numeric_limits<float>::infinity();
  for (size_t c = 0; c < k; ++c) {
    const float d = SquaredDistance(x, centroids_.data() + c * kEmbeddingDim);
    if (d < best_d) {
      best_d = d;
      best = static_cast<uint32_t>(c);
    }
  }
  return best;
}

void ReasoningBank::Assign(uint32_t slot) {
  if (cluster_count() == 0) {
    slot_cluster_[slot] = kNoCluster;
    return;
  }
  const uint32_t c = NearestCentroid(patterns_[slot].embedding.data());
  slot_cluster_[slot] = c;
  slot_pos_[slot] = static_cast<uint32_t>(lists_[c].size());
  lists_[c].push_back(slot);
}

void ReasoningBank::Unassign(uint32_t slot) {
  const uint32_t c = slot_cluster_[slot];
  if (c == kNoCluster) return;
  std::vector<uint32_t>& list = lists_[c];
  const uint32_t pos = slot_pos_[slot];
  const uint32_t moved = list.back();
  list[pos] = moved;
  slot_pos_[moved] = pos;
  list.pop_back();
  slot_cluster_[slot] = kNoCluster;
}

// Removes a slot by moving the last slot into its place.
void ReasoningBank::RemoveSlot(uint32_t slot) {
  Unassign(slot);
  const uint64_t key = patterns_[slot].key;
  key_index_.erase(std::lower_bound(key_index_.begin(), key_index_.end(),
                                    std::make_pair(key, uint32_t{0})));
  const uint32_t last = static_cast<uint32_t>(patterns_.size() - 1);
  if (slot != last) {
    patterns_[slot] = patterns_[last];
    slot_cluster_[slot] = slot_cluster_[last];
    slot_pos_[slot] = slot_pos_[last];
    if (slot_cluster_[slot] != kNoCluster) lists_[slot_cluster_[slot]][slot_pos_[slot]] = slot;
    auto it = std::lower_bound(key_index_.begin(), key_index_.end(),
                               std::make_pair(patterns_[slot].key, uint32_t{0}));
    it->second = slot;
  }
  patterns_.pop_back();
  slot_cluster_.pop_back();
  slot_pos_.pop_back();
}

Status ReasoningBank::Upsert(const ReasoningPattern& pattern) {
  if (!ValidPattern(pattern)) {
    return Status::InvalidArgument("ReasoningBank::Upsert: pattern " + std::to_string(pattern.key) +
                                   " has a non-finite embedding/gain or quality outside [0, 1]");
  }
  auto it = std::lower_bound(key_index_.begin(), key_index_.end(),
                             std::make_pair(pattern.key, uint32_t{0}));
  if (it != key_index_.end() && it->first == pattern.key) {
    const uint32_t slot = it->second;
    const bool moved = patterns_[slot].embedding != pattern.embedding;
    patterns_[slot] = pattern;
    if (moved) {
      Unassign(slot);
      Assign(slot);
    }
    return Status::Ok();
  }
  if (patterns_.size() >= options_.capacity) {
    uint32_t victim = 0;
    for (uint32_t i = 1; i < patterns_.size(); ++i) {
      const double si = EvictionScore(patterns_[i]), sv = EvictionScore(patterns_[victim]);
      if (si < sv || (si == sv && patterns_[i].key < patterns_[victim].key)) victim = i;
    }
    RemoveSlot(victim);
    ++evictions_;
    it = std::lower_bound(key_index_.begin(), key_index_.end(),
                          std::make_pair(pattern.key, uint32_t{0}));
  }
  const uint32_t slot = static_cast<uint32_t>(patterns_.size());
  patterns_.push_back(pattern);
  slot_cluster_.push_back(kNoCluster);
  slot_pos_.push_back(0);
  key_index_.insert(it, {pattern.key, slot});
  Assign(slot);
  ++inserts_since_clustering_;
  return Status::Ok();
}

bool ReasoningBank::Erase(uint64_t key) {
  auto it = std::lower_bound(key_index_.begin(), key_index_.end(), std::make_pair(key, uint32_t{0}));
  if (it == key_index_.end() || it->first != key) return false;
  RemoveSlot(it->second);
  return true;
}

void ReasoningBank::MarkUsed(uint64_t key, uint64_t times) {
  auto it = std::lower_bound(key_index_.begin(), key_index_.end(), std::make_pair(key, uint32_t{0}));
  if (it != key_index_.end() && it->first == key) patterns_[it->second].usage += times;
}

void ReasoningBank::SearchExact(const PlanEmbedding& query, size_t k,
                                std::vector<PatternMatch>* out) const {
  out->clear();
  if (k == 0) return;
  out->reserve(k);
  for (const ReasoningPattern& p : patterns_) {
    PushCandidate(out, k, SquaredDistance(query.data(), p.embedding.data()), p.key);
  }
  Finalize(out);
}

void ReasoningBank::Search(const PlanEmbedding& query, size_t k, std::vector<PatternMatch>* out) const {
  const size_t kc = cluster_count();
  if (kc == 0 || patterns_.size() < options_.min_cluster_size) {
    SearchExact(query, k, out);
    return;
  }
  out->clear();
  if (k == 0) return;
  out->reserve(k);
  // Nearest `probes` centroids (partial selection over a small array).
  const size_t probes = std::min(options_.probes, kc);
  constexpr size_t kMaxProbes = 64;
  std::pair<float, uint32_t> near[kMaxProbes];
  size_t have = 0;
  const size_t want = std::min(probes, kMaxProbes);
  for (size_t c = 0; c < kc; ++c) {
    const float d = SquaredDistance(query.data(), centroids_.data() + c * kEmbeddingDim);
    const std::pair<float, uint32_t> e{d, static_cast<uint32_t>(c)};
    if (have < want) {
      near[have++] = e;
      std::push_heap(near, near + have);
    } else if (e < near[0]) {
      std::pop_heap(near, near + have);
      near[have - 1] = e;
      std::push_heap(near, near + have);
    }
  }
  for (size_t i = 0; i < have; ++i) {
    for (uint32_t slot : lists_[near[i].second]) {
      const ReasoningPattern& p = patterns_[slot];
      PushCandidate(out, k, SquaredDistance(query.data(), p.embedding.data()), p.key);
    }
  }
  // Patterns inserted while unclustered are never left out: Assign puts every
  // pattern in a list once centroids exist.
  Finalize(out);
}

// k-means++ seeding and Lloyd iterations on a seeded sample, then every
// pattern is assigned to its nearest centroid. Distances use the GEMM form
// |x|^2 + |c|^2 - 2 x.c (Eigen).
void ReasoningBank::Recluster() {
  const size_t n = patterns_.size();
  for (auto& list : lists_) list.clear();
  centroids_.clear();
  lists_.clear();
  std::fill(slot_cluster_.begin(), slot_cluster_.end(), kNoCluster);
  size_at_clustering_ = n;
  inserts_since_clustering_ = 0;
  if (n == 0) return;
  size_t k = options_.clusters;
  if (k == 0) k = static_cast<size_t>(std::lround(std::sqrt(static_cast<double>(n))));
  if (options_.max_clusters > 0) k = std::min(k, options_.max_clusters);
  k = std::clamp<size_t>(k, 1, n);
  Rng rng(options_.seed);

  // Sample (partial Fisher-Yates over slot ids; slots are ordered by
  // insertion, which is deterministic for a given history).
  const size_t m = std::min(n, std::max(options_.kmeans_sample, k));
  std::vector<uint32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<uint32_t>(i);
  for (size_t i = 0; i < m; ++i) std::swap(ids[i], ids[i + rng.Uniform(n - i)]);
  RowMat x(static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(kEmbeddingDim));
  for (size_t i = 0; i < m; ++i) {
    x.row(static_cast<Eigen::Index>(i)) =
        ConstVec(patterns_[ids[i]].embedding.data(), kEmbeddingDim).transpose();
  }

  // k-means++ seeding.
  RowMat c(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(kEmbeddingDim));
  std::vector<double> d2(m, std::numeric_limits<double>::infinity());
  size_t first = rng.Uniform(m);
  c.row(0) = x.row(static_cast<Eigen::Index>(first));
  for (size_t j = 1; j <= k; ++j) {
    double total = 0.0;
    for (size_t i = 0; i < m; ++i) {
      const double d = (x.row(static_cast<Eigen::Index>(i)) - c.row(static_cast<Eigen::Index>(j - 1))).squaredNorm();
      d2[i] = std::min(d2[i], d);
      total += d2[i];
    }
    if (j == k) break;
    size_t pick = rng.Uniform(m);
    if (total > 0.0) {
      double r = rng.UniformDouble() * total;
      for (size_t i = 0; i < m; ++i) {
        r -= d2[i];
        if (r <= 0.0) {
          pick = i;
          break;
        }
      }
    }
    c.row(static_cast<Eigen::Index>(j)) = x.row(static_cast<Eigen::Index>(pick));
  }

  // Lloyd iterations on the sample.
  std::vector<uint32_t> assign(m, 0);
  RowMat sums(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(kEmbeddingDim));
  std::vector<size_t> counts(k);
  for (uint32_t it = 0; it < options_.kmeans_iterations; ++it) {
    const Eigen::VectorXf cnorm = c.rowwise().squaredNorm();
    const RowMat dots = x * c.transpose();  // m x k
    bool changed = false;
    for (size_t i = 0; i < m; ++i) {
      uint32_t best = 0;
      float best_d = std::numeric_limits<float>::infinity();
      for (size_t j = 0; j < k; ++j) {
        const float d = cnorm[static_cast<Eigen::Index>(j)] -
                        2.0f * dots(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
        if (d < best_d) {
          best_d = d;
          best = static_cast<uint32_t>(j);
        }
      }
      if (assign[i] != best) changed = true;
      assign[i] = best;
    }
    sums.setZero();
    std::fill(counts.begin(), counts.end(), 0);
    for (size_t i = 0; i < m; ++i) {
      sums.row(assign[i]) += x.row(static_cast<Eigen::Index>(i));
      ++counts[assign[i]];
    }
    for (size_t j = 0; j < k; ++j) {
      if (counts[j] > 0) c.row(static_cast<Eigen::Index>(j)) = sums.row(static_cast<Eigen::Index>(j)) / static_cast<float>(counts[j]);
      // An empty cluster keeps its centroid (a seeded point).
    }
    if (!changed && it > 0) break;
  }

  centroids_.resize(k * kEmbeddingDim);
  for (size_t j = 0; j < k; ++j) {
    for (size_t d = 0; d < kEmbeddingDim; ++d) {
      centroids_[j * kEmbeddingDim + d] = c(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(d));
    }
  }
  lists_.assign(k, {});
  for (uint32_t s = 0; s < n; ++s) Assign(s);
}

bool ReasoningBank::MaybeRecluster() {
  const size_t n = patterns_.size();
  if (n < options_.min_cluster_size) return false;
  const bool never = cluster_count() == 0;
  const double grown = static_cast<double>(inserts_since_clustering_);
  if (!never && grown < options_.recluster_growth * static_cast<double>(std::max<size_t>(size_at_clustering_, 1))) {
    return false;
  }
  Recluster();
  return true;
}

std::vector<ReasoningPattern> ReasoningBank::GetMaturePatterns() const {
  std::vector<ReasoningPattern> out;
  for (const auto& [key, slot] : key_index_) {
    const ReasoningPattern& p = patterns_[slot];
    if (!p.from_network && p.quality >= options_.mature_quality && p.usage >= options_.mature_usage) {
      out.push_back(p);
    }
  }
  return out;
}

std::vector<size_t> ReasoningBank::ClusterSizes() const {
  std::vector<size_t> out;
  out.reserve(lists_.size());
  for (const auto& list : lists_) out.push_back(list.size());
  return out;
}

std::vector<ReasoningPattern> ReasoningBank::AllPatterns() const {
  std::vector<ReasoningPattern> out;
  out.reserve(patterns_.size());
  for (const auto& [key, slot] : key_index_) out.push_back(patterns_[slot]);
  return out;
}

size_t ReasoningBank::MergeNetworkPatterns(std::span<const ReasoningPattern> patterns) {
  size_t merged = 0;
  for (const ReasoningPattern& incoming : patterns) {
    if (!ValidPattern(incoming)) continue;
    ReasoningPattern p = incoming;
    p.from_network = true;
    p.quality = incoming.quality * options_.network_trust;
    p.usage = 0;
    const ReasoningPattern* existing = Find(p.key);
    if (existing != nullptr) {
      if (!existing->from_network || existing->quality >= p.quality) continue;
      p.usage = existing->usage;
    }
    if (Upsert(p).ok()) ++merged;
  }
  return merged;
}

}  // namespace ruvector_dag
