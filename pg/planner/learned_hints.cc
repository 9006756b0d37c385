// PG zone: the shared table of the hint arms' content (learned_hints.h).
#include "shim.h"

extern "C" {
#include "port/atomics.h"
}

#include "extension.h"
#include "planner/learned_hints.h"

namespace ruvector_pg {
namespace {

HintStamp StampOf(const LearnedHint& h) {
  HintStamp s;
  s.version = h.version;
  s.relset = h.relset;
  s.kind = static_cast<uint8_t>(h.kind);
  return s;
}

constexpr const char* kShmemName = "ruvector_dag learned hints";
constexpr const char* kTranche = "ruvector_dag_learned_hints";
constexpr uint32_t kSlots = 2 * kMaxHintedPatterns;  // open addressing, at most half full

struct HintsShared {
  uint64_t generation = 0;
  uint32_t patterns = 0;
  pg_atomic_uint64 hinted_plannings;
  pg_atomic_uint64 refused_plannings;
  PublishedHint slots[kSlots];
};

HintsShared* g_shared = nullptr;
LWLock* g_lock = nullptr;

uint32_t Home(uint64_t key) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  return static_cast<uint32_t>(key) & (kSlots - 1);
}

/// The slot of `key`, or the empty slot where it would go (lock held).
PublishedHint* SlotOf(uint64_t key) {
  uint32_t slot = Home(key);
  for (uint32_t i = 0; i < kSlots; ++i, slot = (slot + 1) & (kSlots - 1)) {
    PublishedHint& h = g_shared->slots[slot];
    if (h.hint.pattern_key == 0 || h.hint.pattern_key == key) return &h;
  }
  return nullptr;  // full (never: at most half full)
}

/// Records the names a planning gave the relations of `key`'s hint.
void RememberNames(uint64_t key, const LearnedHint& planned, const char* relations) {
  if (g_shared == nullptr || relations[0] == '\0') return;
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  PublishedHint* h = SlotOf(key);
  if (h != nullptr && h->hint.pattern_key == key && h->hint.version == planned.version &&
      h->hint.relset == planned.relset) {
    strlcpy(h->relations, relations, sizeof(h->relations));
  }
  LWLockRelease(g_lock);
}

/// Appends " KIND(relations)" (no leading space when `out` is empty).
void AppendHint(const PublishedHint& h, char* out, size_t cap) {
  char item[kRelationsTextLen + 32];
  if (h.relations[0] != '\0') {
    snprintf(item, sizeof(item), "%s(%s)", HintKeyword(h.hint.kind), h.relations);
  } else {
    snprintf(item, sizeof(item), "%s(#%u)", HintKeyword(h.hint.kind), h.hint.relset);
  }
  if (out[0] != '\0') strlcat(out, " ", cap);
  strlcat(out, item, cap);
}

}  // namespace

void RequestLearnedHintsMemory() {
  RequestAddinShmemSpace(sizeof(HintsShared));
  RequestNamedLWLockTranche(kTranche, 1);
}

void StartupLearnedHintsMemory() {
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  void* region = ShmemInitStruct(kShmemName, sizeof(HintsShared), &found);
  g_lock = &GetNamedLWLockTranche(kTranche)[0].lock;
  g_shared = static_cast<HintsShared*>(region);
  if (!found) {
    memset(region, 0, sizeof(HintsShared));
    pg_atomic_init_u64(&g_shared->hinted_plannings, 0);
    pg_atomic_init_u64(&g_shared->refused_plannings, 0);
  }
  LWLockRelease(AddinShmemInitLock);
}

bool HintStampIsCurrent(uint64_t pattern_key, const HintStamp& stamp) {
  PublishedHint* now = static_cast<PublishedHint*>(palloc0(sizeof(PublishedHint)));
  const HintStamp current = g_hint_arms_enabled && LookupLearnedHint(pattern_key, now) ? StampOf(now->hint) : HintStamp{};
  pfree(now);
  return current == stamp;
}

bool LookupLearnedHint(uint64_t pattern_key, PublishedHint* out) {
  if (g_shared == nullptr || pattern_key == 0) return false;
  bool found = false;
  LWLockAcquire(g_lock, LW_SHARED);
  const PublishedHint* h = SlotOf(pattern_key);
  if (h != nullptr && h->hint.pattern_key == pattern_key && h->hint.kind != HintKind::kNone) {
    *out = *h;
    found = true;
  }
  LWLockRelease(g_lock);
  return found;
}

int CopyLearnedHints(PublishedHint* out, int cap) {
  if (g_shared == nullptr) return 0;
  int n = 0;
  LWLockAcquire(g_lock, LW_SHARED);
  for (uint32_t i = 0; i < kSlots && n < cap; ++i) {
    if (g_shared->slots[i].hint.pattern_key != 0) out[n++] = g_shared->slots[i];
  }
  LWLockRelease(g_lock);
  std::sort(out, out + n, [](const PublishedHint& a, const PublishedHint& b) {
    return a.hint.pattern_key < b.hint.pattern_key;
  });
  return n;
}

void PublishLearnedHints(const LearnedHint* hints, size_t count, PublishedHint* scratch) {
  if (g_shared == nullptr) return;
  size_t n = 0;
  for (size_t k = 0; k < count && n < static_cast<size_t>(kMaxHintedPatterns); ++k) {
    if (hints[k].pattern_key == 0 || hints[k].kind == HintKind::kNone) continue;
    scratch[n] = PublishedHint();
    scratch[n++].hint = hints[k];
  }
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  for (size_t k = 0; k < n; ++k) {
    const PublishedHint* old = SlotOf(scratch[k].hint.pattern_key);
    if (old != nullptr && old->hint.pattern_key == scratch[k].hint.pattern_key &&
        old->hint.version == scratch[k].hint.version && old->hint.relset == scratch[k].hint.relset) {
      memcpy(scratch[k].relations, old->relations, sizeof(scratch[k].relations));
    }
  }
  for (uint32_t i = 0; i < kSlots; ++i) g_shared->slots[i].hint.pattern_key = 0;
  for (size_t k = 0; k < n; ++k) {
    PublishedHint* slot = SlotOf(scratch[k].hint.pattern_key);
    if (slot != nullptr) *slot = scratch[k];
  }
  g_shared->patterns = static_cast<uint32_t>(n);
  ++g_shared->generation;
  LWLockRelease(g_lock);
}

LearnedHintCounters ReadLearnedHintCounters() {
  LearnedHintCounters c;
  if (g_shared == nullptr) return c;
  LWLockAcquire(g_lock, LW_SHARED);
  c.published_patterns = g_shared->patterns;
  c.generation = g_shared->generation;
  LWLockRelease(g_lock);
  c.hinted_plannings = pg_atomic_read_u64(&g_shared->hinted_plannings);
  c.refused_plannings = pg_atomic_read_u64(&g_shared->refused_plannings);
  return c;
}

PlannedStmt* PlanWithLearnedHint(uint64_t pattern_key, CorrectedPlannerFn planner, Query* parse,
                                 const char* query_string, int cursor_options, ParamListInfo params, bool* none,
                                 char* advice, HintStamp* stamp) {
  PublishedHint* published = static_cast<PublishedHint*>(palloc0(sizeof(PublishedHint)));
  *none = !g_hint_arms_enabled || !LookupLearnedHint(pattern_key, published);
  *stamp = HintStamp{};
  PlannedStmt* out = nullptr;
  if (!*none) {
    *stamp = StampOf(published->hint);
    const PinnedHints hints = HintsOfLearned(published->hint);
    HintReport* report = static_cast<HintReport*>(palloc0(sizeof(HintReport)));
    out = PlanWithHints(hints, planner, parse, query_string, cursor_options, params, "", report);
    pg_atomic_fetch_add_u64(&g_shared->hinted_plannings, 1);
    if (out == nullptr) pg_atomic_fetch_add_u64(&g_shared->refused_plannings, 1);
    if (out != nullptr && published->relations[0] == '\0' && report->relations[0][0] != '\0') {
      RememberNames(pattern_key, published->hint, report->relations[0]);
      strlcpy(published->relations, report->relations[0], sizeof(published->relations));
    }
    advice[0] = '\0';
    if (out != nullptr) AppendHint(*published, advice, kAdviceTextLen);
    pfree(report);
  }
  pfree(published);
  return out;
}

bool LearnedHintAdvice(uint64_t pattern_key, char* out, size_t cap) {
  PublishedHint* published = static_cast<PublishedHint*>(palloc0(sizeof(PublishedHint)));
  const bool found = LookupLearnedHint(pattern_key, published);
  if (found) AppendHint(*published, out, cap);
  pfree(published);
  return found;
}

}  // namespace ruvector_pg
