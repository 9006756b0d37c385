// Plan advice text: parser and printer (plan_advice.h).
#include "state/plan_advice.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ruvector_pg {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsPrintable(char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; }
bool PlainValueChar(char c) { return IsAlpha(c) || IsDigit(c) || c == '_' || c == '.' || c == '+' || c == '-'; }
bool PlainAliasStart(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }
bool PlainAliasChar(char c) { return PlainAliasStart(c) || IsDigit(c) || c == '$'; }

/// A cursor over the input that records the first error.
class Scanner {
 public:
  Scanner(const char* text, size_t len, char* error, size_t error_cap)
      : text_(text), len_(len), error_(error), error_cap_(error_cap) {}

  bool Fail(const char* what) {
    if (error_cap_ > 0) std::snprintf(error_, error_cap_, "%s at byte %zu", what, pos_ + 1);
    return false;
  }
  void SkipSpace() {
    while (pos_ < len_ && IsSpace(text_[pos_])) ++pos_;
  }
  bool AtEnd() const { return pos_ >= len_; }
  char Peek() const { return pos_ < len_ ? text_[pos_] : '\0'; }
  void Advance() { ++pos_; }
  size_t pos() const { return pos_; }

  /// A case-insensitive keyword followed by "(" (spaces allowed between).
  bool Keyword(const char* word) {
    size_t n = std::strlen(word);
    if (pos_ + n > len_) return false;
    for (size_t i = 0; i < n; ++i) {
      if (Lower(text_[pos_ + i]) != Lower(word[i])) return false;
    }
    size_t after = pos_ + n;
    if (after < len_ && (IsAlpha(text_[after]) || IsDigit(text_[after]) || text_[after] == '_')) return false;
    pos_ = after;
    return true;
  }
  bool Expect(char c, const char* what) {
    SkipSpace();
    if (Peek() != c) return Fail(what);
    ++pos_;
    return true;
  }

  /// [A-Za-z_][A-Za-z0-9_.]*, folded to lower case.
  bool SettingName(char* out) {
    SkipSpace();
    if (!(IsAlpha(Peek()) || Peek() == '_')) return Fail("expected a setting name");
    size_t n = 0;
    while (IsAlpha(Peek()) || IsDigit(Peek()) || Peek() == '_' || Peek() == '.') {
      if (n + 1 >= static_cast<size_t>(kAdviceNameLen)) return Fail("setting name longer than 63 bytes");
      out[n++] = Lower(Peek());
      ++pos_;
    }
    out[n] = '\0';
    return true;
  }

  /// A plain token or a single-quoted string ('' = ').
  bool Value(char* out) {
    size_t n = 0;
    if (Peek() == '\'') {
      ++pos_;
      for (;;) {
        if (AtEnd()) return Fail("unterminated quoted value");
        char c = Peek();
        if (c == '\'') {
          if (pos_ + 1 < len_ && text_[pos_ + 1] == '\'') {
            pos_ += 2;
          } else {
            ++pos_;
            break;
          }
        } else if (!IsPrintable(c)) {
          return Fail("control character in a quoted value");
        } else {
          ++pos_;
        }
        if (n + 1 >= static_cast<size_t>(kAdviceValueLen)) return Fail("setting value longer than 127 bytes");
        out[n++] = c;
      }
    } else {
      while (PlainValueChar(Peek())) {
        if (n + 1 >= static_cast<size_t>(kAdviceValueLen)) return Fail("setting value longer than 127 bytes");
        out[n++] = Peek();
        ++pos_;
      }
      if (n == 0) return Fail("expected a setting value (quote values with other characters)");
    }
    out[n] = '\0';
    return true;
  }

  /// An unquoted alias (folded to lower case) or a double-quoted one.
  bool Alias(char* out) {
    size_t n = 0;
    if (Peek() == '"') {
      ++pos_;
      for (;;) {
        if (AtEnd()) return Fail("unterminated quoted relation name");
        char c = Peek();
        if (c == '"') {
          if (pos_ + 1 < len_ && text_[pos_ + 1] == '"') {
            pos_ += 2;
          } else {
            ++pos_;
            break;
          }
        } else if (!IsPrintable(c)) {
          return Fail("control character in a quoted relation name");
        } else {
          ++pos_;
        }
        if (n + 1 >= static_cast<size_t>(kAdviceNameLen)) return Fail("relation name longer than 63 bytes");
        out[n++] = c;
      }
      if (n == 0) return Fail("empty quoted relation name");
    } else {
      if (!(IsAlpha(Peek()) || Peek() == '_')) return Fail("expected a relation name, '#' or '*'");
      while (IsAlpha(Peek()) || IsDigit(Peek()) || Peek() == '_' || Peek() == '$') {
        if (n + 1 >= static_cast<size_t>(kAdviceNameLen)) return Fail("relation name longer than 63 bytes");
        out[n++] = Lower(Peek());
        ++pos_;
      }
    }
    out[n] = '\0';
    return true;
  }

  /// digits [. digits] [e [+-] digits]
  bool Number(double* out) {
    SkipSpace();
    size_t start = pos_;
    while (IsDigit(Peek())) ++pos_;
    if (pos_ == start) return Fail("expected a factor (a positive number)");
    if (Peek() == '.') {
      ++pos_;
      while (IsDigit(Peek())) ++pos_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      size_t exp_start = pos_;
      while (IsDigit(Peek())) ++pos_;
      if (pos_ == exp_start) return Fail("bad exponent in factor");
    }
    char buf[64];
    size_t n = pos_ - start;
    if (n >= sizeof(buf)) return Fail("factor has too many digits");
    std::memcpy(buf, text_ + start, n);
    buf[n] = '\0';
    *out = std::strtod(buf, nullptr);
    return true;
  }

 private:
  const char* text_;
  size_t len_;
  size_t pos_ = 0;
  char* error_;
  size_t error_cap_;
};

bool ParseSet(Scanner* s, ParsedAdvice* out) {
  if (!s->Expect('(', "expected '(' after SET")) return false;
  int in_item = 0;
  for (;;) {
    s->SkipSpace();
    if (s->Peek() == ')') {
      s->Advance();
      break;
    }
    if (s->AtEnd()) return s->Fail("missing ')' after SET settings");
    if (out->setting_count >= kMaxAdviceSettings) return s->Fail("more than 16 settings");
    AdviceSetting& st = out->settings[out->setting_count];
    if (!s->SettingName(st.name)) return false;
    if (!s->Expect('=', "expected '=' after the setting name")) return false;
    s->SkipSpace();
    if (!s->Value(st.value)) return false;
    for (int i = 0; i < out->setting_count; ++i) {
      if (std::strcmp(out->settings[i].name, st.name) == 0) return s->Fail("setting given twice");
    }
    ++out->setting_count;
    ++in_item;
  }
  if (in_item == 0) return s->Fail("SET() holds no setting");
  return true;
}

/// Whether two relation sets, each named by `count` aliases (unique within
/// a set) or, with count 0, by an id, are the same set.
bool SameSet(int count_a, const char (*aliases_a)[kAdviceNameLen], uint32_t id_a, int count_b,
             const char (*aliases_b)[kAdviceNameLen], uint32_t id_b) {
  if (count_a != count_b) return false;
  if (count_a == 0) return id_a == id_b;
  for (int i = 0; i < count_a; ++i) {
    bool found = false;
    for (int j = 0; j < count_b && !found; ++j) found = std::strcmp(aliases_a[i], aliases_b[j]) == 0;
    if (!found) return false;
  }
  return true;
}

bool SameRelations(const AdviceRows& a, const AdviceRows& b) {
  return SameSet(a.relation_count, a.aliases, a.relset, b.relation_count, b.aliases, b.relset);
}

/// "#" decimal: a relation-set id (the scanner is at the '#').
bool ParseSetId(Scanner* s, uint32_t* out) {
  s->Advance();
  uint64_t id = 0;
  size_t digits = 0;
  while (IsDigit(s->Peek())) {
    id = id * 10 + static_cast<uint64_t>(s->Peek() - '0');
    if (id > 0xffffffffull) return s->Fail("relation set id out of range");
    s->Advance();
    ++digits;
  }
  if (digits == 0 || id == 0) return s->Fail("expected a relation set id after '#'");
  *out = static_cast<uint32_t>(id);
  return true;
}

bool ParseRows(Scanner* s, ParsedAdvice* out) {
  if (!s->Expect('(', "expected '(' after ROWS")) return false;
  if (out->rows_count >= kMaxAdviceRows) return s->Fail("more than 16 ROWS items");
  AdviceRows& r = out->rows[out->rows_count];
  r = AdviceRows();
  s->SkipSpace();
  if (s->Peek() == '#') {
    if (!ParseSetId(s, &r.relset)) return false;
  } else {
    for (;;) {
      s->SkipSpace();
      if (s->Peek() == '*') break;
      if (s->AtEnd()) return s->Fail("missing '*factor)' in ROWS");
      if (r.relation_count >= kMaxAdviceRelations) return s->Fail("more than 16 relations in one ROWS item");
      char* alias = r.aliases[r.relation_count];
      if (!s->Alias(alias)) return false;
      for (int i = 0; i < r.relation_count; ++i) {
        if (std::strcmp(r.aliases[i], alias) == 0) return s->Fail("relation named twice in one ROWS item");
      }
      ++r.relation_count;
    }
    if (r.relation_count == 0) return s->Fail("ROWS names no relation");
  }
  if (!s->Expect('*', "expected '*factor' in ROWS")) return false;
  if (!s->Number(&r.factor)) return false;
  if (!std::isfinite(r.factor) || r.factor < kMinAdviceFactor || r.factor > kMaxAdviceFactor) {
    return s->Fail("factor outside 1e-06 .. 1e+06");
  }
  if (!s->Expect(')', "expected ')' after the factor")) return false;
  for (int i = 0; i < out->rows_count; ++i) {
    if (SameRelations(out->rows[i], r)) return s->Fail("ROWS of the same relations given twice");
  }
  ++out->rows_count;
  return true;
}

constexpr HintKind kHintKinds[] = {HintKind::kHashJoin,   HintKind::kMergeJoin,   HintKind::kNestLoop,
                                   HintKind::kNoHashJoin, HintKind::kNoMergeJoin, HintKind::kNoNestLoop,
                                   HintKind::kSeqScan,    HintKind::kIndexScan,   HintKind::kBitmapScan,
                                   HintKind::kLeading};

bool SameHintRelations(const AdviceHint& a, const AdviceHint& b) {
  return SameSet(a.relation_count, a.aliases, a.relset, b.relation_count, b.aliases, b.relset);
}

/// A join, scan or LEADING item (its keyword already read).
bool ParseHint(Scanner* s, HintKind kind, ParsedAdvice* out) {
  const char* keyword = HintKeyword(kind);
  char what[64];
  std::snprintf(what, sizeof(what), "expected '(' after %s", keyword);
  if (!s->Expect('(', what)) return false;
  if (out->hint_count >= kMaxAdviceHints) return s->Fail("more than 16 join, scan and LEADING items");
  AdviceHint& h = out->hints[out->hint_count];
  h = AdviceHint();
  h.kind = kind;
  const bool scan = IsScanHint(kind);
  s->SkipSpace();
  if (s->Peek() == '#' && kind != HintKind::kLeading) {
    if (!ParseSetId(s, &h.relset)) return false;
  } else {
    for (;;) {
      s->SkipSpace();
      if (s->Peek() == ')') break;
      if (s->AtEnd()) {
        std::snprintf(what, sizeof(what), "missing ')' after %s", keyword);
        return s->Fail(what);
      }
      if (scan && h.relation_count == 1) break;  // INDEXSCAN's index name, or an error below
      if (h.relation_count >= kMaxAdviceRelations) return s->Fail("more than 16 relations in one item");
      char* alias = h.aliases[h.relation_count];
      if (!s->Alias(alias)) return false;
      for (int i = 0; i < h.relation_count; ++i) {
        if (std::strcmp(h.aliases[i], alias) == 0) return s->Fail("relation named twice in one item");
      }
      ++h.relation_count;
    }
  }
  s->SkipSpace();
  if (kind == HintKind::kIndexScan && s->Peek() != ')' && !s->AtEnd()) {
    if (!s->Alias(h.index)) return false;
  }
  if (scan && h.relation_count == 0 && h.relset == 0) {
    std::snprintf(what, sizeof(what), "%s names no relation", keyword);
    return s->Fail(what);
  }
  if (!scan && h.relset == 0 && h.relation_count < 2) {
    std::snprintf(what, sizeof(what), "%s needs at least two relations", keyword);
    return s->Fail(what);
  }
  std::snprintf(what, sizeof(what), "%s", scan ? "expected ')' after the relation (one per scan item)"
                                               : "expected ')'");
  if (kind == HintKind::kIndexScan) std::snprintf(what, sizeof(what), "expected ')' after the index name");
  if (!s->Expect(')', what)) return false;
  for (int i = 0; i < out->hint_count; ++i) {
    const AdviceHint& o = out->hints[i];
    if (kind == HintKind::kLeading && o.kind == HintKind::kLeading) return s->Fail("LEADING given twice");
    if (IsJoinHint(kind) && IsJoinHint(o.kind) && SameHintRelations(o, h)) {
      return s->Fail("join method of the same relations given twice");
    }
    if (scan && IsScanHint(o.kind) && SameHintRelations(o, h)) return s->Fail("scan of the same relation given twice");
  }
  ++out->hint_count;
  return true;
}

/// Appends `s` to the NUL-terminated `out` of capacity `cap`; counts the
/// full length in *len.
void Put(char* out, size_t cap, size_t* len, const char* s) {
  for (; *s != '\0'; ++s) {
    if (*len + 1 < cap) out[*len] = *s;
    ++*len;
  }
  if (cap > 0) out[*len < cap ? *len : cap - 1] = '\0';
}

void PutQuoted(char* out, size_t cap, size_t* len, const char* s, char quote) {
  char one[2] = {quote, '\0'};
  Put(out, cap, len, one);
  for (; *s != '\0'; ++s) {
    char c[3] = {*s, '\0', '\0'};
    if (*s == quote) c[1] = quote;
    Put(out, cap, len, c);
  }
  Put(out, cap, len, one);
}

void PutValue(char* out, size_t cap, size_t* len, const char* value) {
  bool plain = value[0] != '\0';
  for (const char* p = value; *p != '\0' && plain; ++p) plain = PlainValueChar(*p);
  if (plain) {
    Put(out, cap, len, value);
  } else {
    PutQuoted(out, cap, len, value, '\'');
  }
}

void PutAlias(char* out, size_t cap, size_t* len, const char* alias) {
  bool plain = PlainAliasStart(alias[0]);
  for (const char* p = alias; *p != '\0' && plain; ++p) plain = PlainAliasChar(*p);
  if (plain) {
    Put(out, cap, len, alias);
  } else {
    PutQuoted(out, cap, len, alias, '"');
  }
}

void PutRows(char* out, size_t cap, size_t* len, const char* relations, uint32_t relset, double factor) {
  if (*len > 0) Put(out, cap, len, " ");
  Put(out, cap, len, "ROWS(");
  if (relations == nullptr || relations[0] == '\0') {
    char id[16];
    std::snprintf(id, sizeof(id), "#%u", relset);
    Put(out, cap, len, id);
  } else {
    Put(out, cap, len, relations);
  }
  char f[40];
  std::snprintf(f, sizeof(f), " *%.6g)", factor);
  Put(out, cap, len, f);
}

}  // namespace

bool ParseAdvice(const char* text, size_t len, ParsedAdvice* out, char* error, size_t error_cap) {
  *out = ParsedAdvice();
  Scanner s(text, len, error, error_cap);
  if (len > kMaxAdviceInput) {
    if (error_cap > 0) std::snprintf(error, error_cap, "advice is %zu bytes; at most %zu", len, kMaxAdviceInput);
    return false;
  }
  for (size_t i = 0; i < len; ++i) {
    if (text[i] == '\0') {
      if (error_cap > 0) std::snprintf(error, error_cap, "NUL byte at byte %zu", i + 1);
      return false;
    }
  }
  int items = 0;
  for (;;) {
    s.SkipSpace();
    if (s.AtEnd()) break;
    if (s.Keyword("SET")) {
      if (!ParseSet(&s, out)) return false;
    } else if (s.Keyword("ROWS")) {
      if (!ParseRows(&s, out)) return false;
    } else {
      HintKind kind = HintKind::kNone;
      for (HintKind k : kHintKinds) {
        if (s.Keyword(HintKeyword(k))) {
          kind = k;
          break;
        }
      }
      if (kind == HintKind::kNone) {
        return s.Fail("expected SET, ROWS, a join method (HASHJOIN, MERGEJOIN, NESTLOOP, NO_...), a scan method "
                      "(SEQSCAN, INDEXSCAN, BITMAPSCAN) or LEADING");
      }
      if (!ParseHint(&s, kind, out)) return false;
    }
    ++items;
  }
  if (items == 0) {
    if (error_cap > 0) std::snprintf(error, error_cap, "advice is empty: give SET(...), ROWS(...) or a hint");
    return false;
  }
  return true;
}

size_t FormatAdvice(const ParsedAdvice& advice, char* out, size_t cap) {
  size_t len = 0;
  if (cap > 0) out[0] = '\0';
  if (advice.setting_count > 0) {
    Put(out, cap, &len, "SET(");
    for (int i = 0; i < advice.setting_count; ++i) {
      if (i > 0) Put(out, cap, &len, " ");
      Put(out, cap, &len, advice.settings[i].name);
      Put(out, cap, &len, "=");
      PutValue(out, cap, &len, advice.settings[i].value);
    }
    Put(out, cap, &len, ")");
  }
  for (int i = 0; i < advice.rows_count; ++i) {
    const AdviceRows& r = advice.rows[i];
    char relations[kMaxAdviceRelations * (2 * kAdviceNameLen + 3)];
    FormatAliases(r.aliases, r.relation_count, relations, sizeof(relations));
    PutRows(out, cap, &len, relations, r.relset, r.factor);
  }
  for (int i = 0; i < advice.hint_count; ++i) {
    const AdviceHint& h = advice.hints[i];
    if (len > 0) Put(out, cap, &len, " ");
    Put(out, cap, &len, HintKeyword(h.kind));
    Put(out, cap, &len, "(");
    if (h.relation_count == 0) {
      char id[16];
      std::snprintf(id, sizeof(id), "#%u", h.relset);
      Put(out, cap, &len, id);
    } else {
      char relations[kMaxAdviceRelations * (2 * kAdviceNameLen + 3)];
      FormatAliases(h.aliases, h.relation_count, relations, sizeof(relations));
      Put(out, cap, &len, relations);
    }
    if (h.index[0] != '\0') {
      Put(out, cap, &len, " ");
      PutAlias(out, cap, &len, h.index);
    }
    Put(out, cap, &len, ")");
  }
  return len;
}

void HintsOfAdvice(const ParsedAdvice& advice, PinnedHints* out) {
  *out = PinnedHints();
  for (int i = 0; i < advice.hint_count; ++i) {
    const AdviceHint& h = advice.hints[i];
    out->kinds[i] = h.kind;
    out->relsets[i] = h.relation_count == 0 ? h.relset : 0;
    std::memcpy(out->indexes[i], h.index, sizeof(h.index));
    if (h.kind == HintKind::kLeading) out->leading_count = static_cast<uint32_t>(h.relation_count);
  }
  out->count = static_cast<uint32_t>(advice.hint_count);
}

const char* HintKeyword(HintKind kind) {
  switch (kind) {
    case HintKind::kHashJoin: return "HASHJOIN";
    case HintKind::kMergeJoin: return "MERGEJOIN";
    case HintKind::kNestLoop: return "NESTLOOP";
    case HintKind::kNoHashJoin: return "NO_HASHJOIN";
    case HintKind::kNoMergeJoin: return "NO_MERGEJOIN";
    case HintKind::kNoNestLoop: return "NO_NESTLOOP";
    case HintKind::kSeqScan: return "SEQSCAN";
    case HintKind::kIndexScan: return "INDEXSCAN";
    case HintKind::kBitmapScan: return "BITMAPSCAN";
    case HintKind::kLeading: return "LEADING";
    case HintKind::kNone: break;
  }
  return "";
}

bool IsJoinHint(HintKind kind) { return AllowedJoinMethods(kind) != 0; }

bool IsScanHint(HintKind kind) {
  return kind == HintKind::kSeqScan || kind == HintKind::kIndexScan || kind == HintKind::kBitmapScan;
}

uint32_t AllowedJoinMethods(HintKind kind) {
  constexpr uint32_t kAll = kJoinNestLoop | kJoinMerge | kJoinHash;
  switch (kind) {
    case HintKind::kHashJoin: return kJoinHash;
    case HintKind::kMergeJoin: return kJoinMerge;
    case HintKind::kNestLoop: return kJoinNestLoop;
    case HintKind::kNoHashJoin: return kAll & ~kJoinHash;
    case HintKind::kNoMergeJoin: return kAll & ~kJoinMerge;
    case HintKind::kNoNestLoop: return kAll & ~kJoinNestLoop;
    default: return 0;
  }
}

bool AppendSettingsAdvice(const char* settings, char* out, size_t cap) {
  if (settings == nullptr || settings[0] == '\0' || cap == 0) return false;
  size_t len = std::strlen(out);
  if (len > 0) Put(out, cap, &len, " ");
  Put(out, cap, &len, "SET(");
  bool first = true;
  const char* line = settings;
  while (*line != '\0') {
    const char* eol = std::strchr(line, '\n');
    const size_t n = eol != nullptr ? static_cast<size_t>(eol - line) : std::strlen(line);
    const char* eq = static_cast<const char*>(std::memchr(line, '=', n));
    if (eq != nullptr) {
      char name[kAdviceNameLen];
      char value[kAdviceValueLen * 2];
      std::snprintf(name, sizeof(name), "%.*s", static_cast<int>(eq - line), line);
      std::snprintf(value, sizeof(value), "%.*s", static_cast<int>(line + n - eq - 1), eq + 1);
      if (!first) Put(out, cap, &len, " ");
      Put(out, cap, &len, name);
      Put(out, cap, &len, "=");
      PutValue(out, cap, &len, value);
      first = false;
    }
    line += n;
    if (*line == '\n') ++line;
  }
  Put(out, cap, &len, ")");
  return true;
}

size_t FormatAliases(const char (*aliases)[kAdviceNameLen], int count, char* out, size_t cap) {
  size_t len = 0;
  if (cap > 0) out[0] = '\0';
  for (int i = 0; i < count; ++i) {
    if (i > 0) Put(out, cap, &len, " ");
    PutAlias(out, cap, &len, aliases[i]);
  }
  return len;
}

void AppendRowsAdvice(const char* relations, uint32_t relset, double factor, char* out, size_t cap) {
  if (cap == 0) return;
  size_t len = std::strlen(out);
  PutRows(out, cap, &len, relations, relset, factor);
}

bool AdviceSettingsLines(const ParsedAdvice& advice, char* out, size_t cap) {
  size_t len = 0;
  if (cap > 0) out[0] = '\0';
  for (int i = 0; i < advice.setting_count; ++i) {
    Put(out, cap, &len, advice.settings[i].name);
    Put(out, cap, &len, "=");
    Put(out, cap, &len, advice.settings[i].value);
    Put(out, cap, &len, "\n");
  }
  return len < cap;
}

}  // namespace ruvector_pg
