// PG zone: row visibility of the SQL API (visibility.h).
#include "shim.h"

extern "C" {
#include "catalog/pg_authid.h"
#include "utils/acl.h"
}

#include "api/visibility.h"
#include "extension.h"
#include "planner/steering.h"
#include "state/steer_shmem.h"

namespace ruvector_pg {

RowVisibility CallerVisibility() {
  RowVisibility v;
  v.database = MyDatabaseId;
  v.role = GetUserId();
  v.all_roles = superuser() || has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
  return v;
}

PatternVisibility::PatternVisibility(const RowVisibility& caller) : caller_(caller) {
  SharedState* s = State();
  if (s == nullptr) return;
  LWLockAcquire(StateLock(), LW_SHARED);
  const uint32_t n = s->pattern_count;
  entries_ = static_cast<Entry*>(palloc(sizeof(Entry) * (n + 1)));
  const PatternEntry* slots = PatternSlots(s);
  for (uint32_t i = 0; i < s->slot_count && count_ < n; ++i) {
    if (slots[i].key == 0) continue;
    entries_[count_++] = Entry{slots[i].key, caller.Allows(slots[i].database_oid, slots[i].role_oid)};
  }
  LWLockRelease(StateLock());
  // Patterns the table evicted are still known to the learner's decisions.
  if (SteerState* steer = Steer()) {
    LWLockAcquire(SteerLock(), LW_SHARED);
    const uint32_t extra = steer->decision_count;
    Entry* more = static_cast<Entry*>(repalloc(entries_, sizeof(Entry) * (count_ + extra + 1)));
    entries_ = more;
    uint32_t added = 0;
    for (const Decision& d : steer->decisions) {
      if (d.key == 0 || added == extra) continue;
      entries_[count_ + added++] = Entry{d.key, caller.Allows(d.database_oid, d.role_oid)};
    }
    count_ += added;
    LWLockRelease(SteerLock());
  }
  std::sort(entries_, entries_ + count_, [](const Entry& a, const Entry& b) { return a.key < b.key; });
}

bool PatternVisibility::Allows(uint64_t pattern_key) const {
  const Entry* begin = entries_;
  const Entry* end = entries_ + count_;
  const Entry* it = std::lower_bound(begin, end, pattern_key,
                                     [](const Entry& e, uint64_t key) { return e.key < key; });
  if (it != end && it->key == pattern_key) return it->visible;
  return false;  // cannot be attributed: shown to nobody
}

}  // namespace ruvector_pg
