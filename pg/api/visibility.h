// PG zone: which learned rows a caller may see (docs/postgres.md, "Security
// model"). As in pg_stat_statements, other roles' rows are shown only to
// superusers and members of pg_read_all_stats; unlike it, only rows of the
// current database are shown to anyone (a database does not see, and is not
// steered by, another database's patterns). Include after shim.h.
#ifndef RUVECTOR_PG_VISIBILITY_H_
#define RUVECTOR_PG_VISIBILITY_H_

#include <cstdint>

namespace ruvector_pg {

/// The caller's view, computed once per SQL function call.
struct RowVisibility {
  uint32_t database = 0;    // MyDatabaseId
  uint32_t role = 0;        // GetUserId()
  bool all_roles = false;   // superuser or member of pg_read_all_stats
  /// A row recorded for `database_oid` and `role_oid`.
  bool Allows(uint32_t database_oid, uint32_t role_oid) const {
    return database_oid == database && (all_roles || role_oid == role);
  }
};
RowVisibility CallerVisibility();

/// Visibility of rows keyed by a pattern (health findings and repairs): the
/// pattern's database and role come from the pattern table or the learner's
/// decisions. A key neither holds cannot be attributed and is shown to
/// nobody. Memory: one entry per pattern and decision (palloc'd in the
/// current context); lookups O(log n).
class PatternVisibility {
 public:
  /// Snapshots the pattern table under its shared lock.
  explicit PatternVisibility(const RowVisibility& caller);
  bool Allows(uint64_t pattern_key) const;

 private:
  struct Entry {
    uint64_t key;
    bool visible;
  };
  RowVisibility caller_;
  Entry* entries_ = nullptr;
  uint32_t count_ = 0;
};

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_VISIBILITY_H_
