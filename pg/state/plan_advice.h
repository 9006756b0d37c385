// Plan advice: the readable text of what a steering decision applies to a
// planning (docs/postgres.md, "Plan advice"), its strict parser and its
// canonical printer. Plain data, no PostgreSQL headers, no allocation, no
// exceptions: callable from the PG zone directly.
//
// Grammar (keywords case-insensitive, items separated by white space):
//   advice  := item { item }
//   item    := "SET" "(" setting { setting } ")"
//            | "ROWS" "(" relset "*" factor ")"
//            | join_method "(" joinset ")"       (the join of exactly these relations)
//            | scan_method "(" relation ")"      (the scan of one relation)
//            | "INDEXSCAN" "(" relation [ index ] ")"
//            | "LEADING" "(" alias alias { alias } ")"
//   join_method := "HASHJOIN" | "MERGEJOIN" | "NESTLOOP"
//            | "NO_HASHJOIN" | "NO_MERGEJOIN" | "NO_NESTLOOP"
//   scan_method := "SEQSCAN" | "BITMAPSCAN"
//   joinset := alias alias { alias } | "#" decimal
//   relation := alias | "#" decimal
//   index   := alias                           (an index of the relation, by name)
//   setting := name "=" value
//   name    := [A-Za-z_][A-Za-z0-9_.]*        (folded to lower case)
//   value   := [A-Za-z0-9_.+-]+ | "'" { any printable but "'" | "''" } "'"
//   relset  := alias { alias } | "#" decimal   (a relation-set id)
//   alias   := [A-Za-z_][A-Za-z0-9_$]*         (folded to lower case)
//            | '"' { printable but '"' | '""' } '"'
//   factor  := decimal number, 1e-6 .. 1e6
#ifndef RUVECTOR_PG_STATE_PLAN_ADVICE_H_
#define RUVECTOR_PG_STATE_PLAN_ADVICE_H_

#include <cstddef>
#include <cstdint>

namespace ruvector_pg {

/// Longest advice text a caller may pass (bytes).
inline constexpr size_t kMaxAdviceInput = 4096;
/// Longest canonical advice text kept with a pin (bytes, NUL included).
inline constexpr int kAdviceTextLen = 1024;
inline constexpr int kMaxAdviceSettings = 16;
inline constexpr int kMaxAdviceRows = 16;  // = kMaxCorrectionsPerPattern
inline constexpr int kMaxAdviceRelations = 16;  // aliases in one ROWS item
inline constexpr int kAdviceNameLen = 64;  // NAMEDATALEN
inline constexpr int kAdviceValueLen = 128;
inline constexpr int kMaxAdviceHints = 16;  // join, scan and LEADING items
inline constexpr double kMinAdviceFactor = 1e-6;
inline constexpr double kMaxAdviceFactor = 1e6;

struct AdviceSetting {
  char name[kAdviceNameLen] = {0};
  char value[kAdviceValueLen] = {0};
};

/// One ROWS item: the rows of a relation set are `factor` x PostgreSQL's
/// estimate. The set is named by its aliases, or (relation_count 0) by its
/// id `relset`.
struct AdviceRows {
  int relation_count = 0;
  char aliases[kMaxAdviceRelations][kAdviceNameLen] = {};
  uint32_t relset = 0;
  double factor = 1.0;
};

/// The kind of a hint item (values are stored in the steering file: never
/// renumber).
enum class HintKind : uint8_t {
  kNone = 0,
  kHashJoin = 1,
  kMergeJoin = 2,
  kNestLoop = 3,
  kNoHashJoin = 4,
  kNoMergeJoin = 5,
  kNoNestLoop = 6,
  kSeqScan = 7,
  kIndexScan = 8,
  kBitmapScan = 9,
  kLeading = 10,
};
/// The advice keyword of `kind` ("HASHJOIN", ...; "" for kNone).
const char* HintKeyword(HintKind kind);
bool IsJoinHint(HintKind kind);
bool IsScanHint(HintKind kind);
/// Join methods a join hint allows: bit 0 nested loop, 1 merge join, 2
/// hash join (0 for other kinds).
inline constexpr uint32_t kJoinNestLoop = 1, kJoinMerge = 2, kJoinHash = 4;
uint32_t AllowedJoinMethods(HintKind kind);

/// One join, scan or LEADING item. Its relations are named by aliases (in
/// order, for LEADING), or (relation_count 0; not LEADING) by the id
/// `relset` of their set. `index` is INDEXSCAN's index name ("" = any).
struct AdviceHint {
  HintKind kind = HintKind::kNone;
  int relation_count = 0;
  char aliases[kMaxAdviceRelations][kAdviceNameLen] = {};
  uint32_t relset = 0;
  char index[kAdviceNameLen] = {0};
};

struct ParsedAdvice {
  int setting_count = 0;
  AdviceSetting settings[kMaxAdviceSettings];
  int rows_count = 0;
  AdviceRows rows[kMaxAdviceRows];
  int hint_count = 0;
  AdviceHint hints[kMaxAdviceHints];
};

/// The hints of pinned advice as the planner applies them: relations
/// resolved to relation-set ids (worker/row_corrections.h) when pinned.
/// Plain data, kept in shared memory with the pin.
struct PinnedHints {
  uint32_t count = 0;
  HintKind kinds[kMaxAdviceHints] = {};
  uint32_t relsets[kMaxAdviceHints] = {0};  // of a join or scan hint's relations (0 for LEADING)
  char indexes[kMaxAdviceHints][kAdviceNameLen] = {};  // INDEXSCAN's index name, "" = any
  uint32_t leading_count = 0;                          // relations of the LEADING item (0 = none)
  uint64_t leading[kMaxAdviceRelations] = {0};         // their RelKeys, in order
};

/// Fills *out with the kinds, index names and LEADING length of the hints of
/// `advice`, and the relation sets its hints give by id; the relation sets
/// and keys named by aliases are left 0 (they are resolved against a query).
void HintsOfAdvice(const ParsedAdvice& advice, PinnedHints* out);

/// Parses `len` bytes of advice. False with a message naming the problem
/// and its byte offset in *error (empty, too long, a bad character, an
/// unknown item, a duplicate setting or relation set, a factor out of
/// range, too many items, a hint on too few or too many relations, two
/// hints of one kind on the same relations, a second LEADING). O(len).
/// `out` is written in place (about 37 KB).
bool ParseAdvice(const char* text, size_t len, ParsedAdvice* out, char* error, size_t error_cap);

/// Writes the canonical text of `advice` (SET first, then each ROWS item,
/// then the hints in the order given; keywords in upper case, values and
/// names quoted when not plain). Returns the full length; writes at most
/// `cap` bytes, NUL-terminated when cap > 0.
size_t FormatAdvice(const ParsedAdvice& advice, char* out, size_t cap);

/// Appends "SET(name=value ...)" for "name=value\n" lines `settings` to
/// `out` (NUL-terminated, truncated at `cap`); nothing for "". Returns
/// whether anything was appended.
bool AppendSettingsAdvice(const char* settings, char* out, size_t cap);
/// Writes `count` aliases separated by spaces (quoted when needed) into
/// `out` (NUL-terminated, truncated at `cap`); returns the full length.
size_t FormatAliases(const char (*aliases)[kAdviceNameLen], int count, char* out, size_t cap);
/// Appends " ROWS(<relations> *factor)" to `out` (no leading space when
/// `out` is empty; truncated at `cap`). `relations` is a FormatAliases text,
/// or "" to name the set by its id ("#relset").
void AppendRowsAdvice(const char* relations, uint32_t relset, double factor, char* out, size_t cap);

/// The "name=value\n" lines of the advice's SET items (what an arm holds).
/// False when they do not fit `cap`.
bool AdviceSettingsLines(const ParsedAdvice& advice, char* out, size_t cap);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_STATE_PLAN_ADVICE_H_
