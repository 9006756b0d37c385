// Vector tuning state (vector_state.h).
#include "state/vector_state.h"

namespace ruvector_pg {

using ruvector_dag::kVectorExact;
using ruvector_dag::kVectorSettingCount;

VectorPattern* FindVectorPattern(VectorTable* t, uint64_t key) {
  if (key == 0) return nullptr;
  for (VectorPattern& p : t->patterns) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

const VectorPattern* FindVectorPattern(const VectorTable* t, uint64_t key) {
  return FindVectorPattern(const_cast<VectorTable*>(t), key);
}

VectorPattern* AddVectorPattern(VectorTable* t, uint64_t key, uint64_t query_id, uint32_t database_oid,
                                uint32_t role_oid, int64_t now_us) {
  if (VectorPattern* p = FindVectorPattern(t, key)) return p;
  VectorPattern* slot = nullptr;
  for (VectorPattern& p : t->patterns) {
    if (p.key == 0) {
      slot = &p;
      break;
    }
    const int64_t last = p.sampled_us != 0 ? p.sampled_us : p.created_us;
    const int64_t best = slot == nullptr ? 0 : (slot->sampled_us != 0 ? slot->sampled_us : slot->created_us);
    if (slot == nullptr || last < best) slot = &p;
  }
  *slot = VectorPattern();
  slot->key = key;
  slot->query_id = query_id;
  slot->database_oid = database_oid;
  slot->role_oid = role_oid;
  slot->created_us = now_us;
  slot->measure_mask = (1u << ruvector_dag::kVectorEfCount) - 1;
  return slot;
}

bool VectorStatementSeen(VectorPattern* p, uint64_t hash) {
  for (uint64_t h : p->seen) {
    if (h == hash && h != 0) return true;
  }
  p->seen[p->seen_next % kVectorSeenStatements] = hash;
  ++p->seen_next;
  return false;
}

void RecordVectorSample(VectorPattern* p, uint32_t k, double exact_ms, bool exact_timed_out,
                        const VectorRunResult* runs, int run_count, int64_t now_us) {
  p->sampled_us = now_us;
  ruvector_dag::VectorSettingStats& exact = p->stats[kVectorExact];
  if (exact_timed_out) {
    ++exact.timeouts;
    return;
  }
  ruvector_dag::AddLatency(&exact, exact_ms);
  p->k = k;
  if (k == 0) {
    ++p->empty;
    return;
  }
  for (int i = 0; i < run_count; ++i) {
    const VectorRunResult& r = runs[i];
    if (r.setting < 0 || r.setting >= kVectorExact) continue;
    ruvector_dag::VectorSettingStats& s = p->stats[r.setting];
    if (r.timed_out) {
      ++s.timeouts;
      continue;
    }
    ruvector_dag::AddLatency(&s, r.ms);
    ruvector_dag::AddRecallSample(&s, static_cast<double>(r.hits), static_cast<double>(k));
  }
}

int DecideVectorPatterns(VectorTable* t, const ruvector_dag::VectorTuningOptions& options) {
  int changed = 0;
  for (VectorPattern& p : t->patterns) {
    if (p.key == 0) continue;
    const ruvector_dag::VectorDecision d = ruvector_dag::DecideVectorSetting(p.stats, options);
    const uint8_t settled = d.settled ? 1 : 0;
    if (d.deployed != p.deployed || settled != p.settled) ++changed;
    p.deployed = d.deployed;
    p.measure_mask = d.measure_mask;
    p.settled = settled;
    p.target = options.target;
  }
  return changed;
}

void ClearVectorTable(VectorTable* t) {
  for (VectorPattern& p : t->patterns) p = VectorPattern();
}

}  // namespace ruvector_pg
