// Unit tests of the plan-advice parser and printer (plan_advice.h).
#include "state/plan_advice.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace ruvector_pg {
namespace {

struct Result {
  bool ok = false;
  std::string error;
  std::string canonical;
};

Result Parse(const std::string& text) {
  static ParsedAdvice parsed;
  char error[160] = {0};
  Result r;
  r.ok = ParseAdvice(text.data(), text.size(), &parsed, error, sizeof(error));
  r.error = error;
  if (r.ok) {
    char out[kAdviceTextLen];
    FormatAdvice(parsed, out, sizeof(out));
    r.canonical = out;
  }
  return r;
}

TEST(PlanAdviceTest, ParsesAndPrintsCanonically) {
  Result r = Parse("  set( Enable_NestLoop = off  work_mem='64 MB' )rows(Orders \"Cust\"\"X\" * 40.0) ");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.canonical, "SET(enable_nestloop=off work_mem='64 MB') ROWS(orders \"Cust\"\"X\" *40)");
  // The canonical text parses to itself.
  Result again = Parse(r.canonical);
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_EQ(again.canonical, r.canonical);
  EXPECT_EQ(Parse("ROWS(#4294967295 *1e-6) SET(hnsw.ef_search=64)").canonical,
            "SET(hnsw.ef_search=64) ROWS(#4294967295 *1e-06)");
  EXPECT_EQ(Parse("SET(a='it''s') SET(b=2)").canonical, "SET(a='it''s' b=2)");
}

TEST(PlanAdviceTest, RefusesMalformedInputWithAReason) {
  const struct {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "empty"},
      {"   \n\t", "empty"},
      {"SET", "expected '(' after SET"},
      {"SET()", "holds no setting"},
      {"SET(a)", "expected '='"},
      {"SET(a=)", "expected a setting value"},
      {"SET(a=b", "missing ')'"},
      {"SET(a=b a=c)", "given twice"},
      {"SET(a='x", "unterminated"},
      {"SET(a='x\ny')", "control character"},
      {"SET(a=b;c)", "expected a setting name"},
      {"ROWS(a *0)", "outside"},
      {"ROWS(a *1e7)", "outside"},
      {"ROWS(a *-1)", "expected a factor"},
      {"ROWS(a *1e)", "bad exponent"},
      {"ROWS(*2)", "names no relation"},
      {"ROWS(a a *2)", "named twice"},
      {"ROWS(a b *2) ROWS(b a *3)", "same relations given twice"},
      {"ROWS(#0 *2)", "relation set id"},
      {"ROWS(#4294967296 *2)", "out of range"},
      {"ROWS(a *2", "expected ')'"},
      {"ROWS(\"\" *2)", "empty quoted"},
      {"ROWS(a; DROP TABLE t; *2)", "expected a relation name"},
      {"HINT(a)", "expected SET, ROWS, a join method"},
      {"SETX(a=b)", "expected SET, ROWS, a join method"},
      {"HASHJOINS(a b)", "expected SET, ROWS, a join method"},
      {"HASHJOIN a b", "expected '(' after HASHJOIN"},
      {"HASHJOIN(a)", "HASHJOIN needs at least two relations"},
      {"NO_NESTLOOP()", "NO_NESTLOOP needs at least two relations"},
      {"MERGEJOIN(a b", "missing ')' after MERGEJOIN"},
      {"NESTLOOP(a b a)", "named twice"},
      {"NESTLOOP(a b;)", "expected a relation name"},
      {"HASHJOIN(a b) NESTLOOP(b a)", "join method of the same relations given twice"},
      {"HASHJOIN(#5) NO_MERGEJOIN(#5)", "join method of the same relations given twice"},
      {"HASHJOIN(#0)", "relation set id"},
      {"HASHJOIN(#5 a)", "expected ')'"},
      {"SEQSCAN()", "SEQSCAN names no relation"},
      {"SEQSCAN(a b)", "one per scan item"},
      {"BITMAPSCAN(a", "missing ')' after BITMAPSCAN"},
      {"INDEXSCAN(a i j)", "expected ')' after the index name"},
      {"INDEXSCAN(a \"\")", "empty quoted"},
      {"SEQSCAN(a) INDEXSCAN(a)", "scan of the same relation given twice"},
      {"LEADING(a)", "LEADING needs at least two relations"},
      {"LEADING(#5)", "expected a relation name"},
      {"LEADING(a b) LEADING(c d)", "LEADING given twice"},
  };
  for (const auto& c : cases) {
    Result r = Parse(c.text);
    EXPECT_FALSE(r.ok) << c.text;
    EXPECT_NE(r.error.find(c.reason), std::string::npos) << c.text << " -> " << r.error;
  }
  // Bytes and lengths.
  EXPECT_NE(Parse(std::string("SET(a=b)\0", 9)).error.find("NUL"), std::string::npos);
  EXPECT_NE(Parse(std::string(kMaxAdviceInput + 1, ' ')).error.find("at most"), std::string::npos);
  EXPECT_NE(Parse("SET(" + std::string(64, 'a') + "=1)").error.find("longer than 63"), std::string::npos);
  EXPECT_NE(Parse("SET(a='" + std::string(128, 'x') + "')").error.find("longer than 127"), std::string::npos);
  std::string many = "SET(";
  for (int i = 0; i < kMaxAdviceSettings + 1; ++i) many += "s" + std::to_string(i) + "=1 ";
  EXPECT_NE(Parse(many + ")").error.find("more than 16 settings"), std::string::npos);
  std::string rows;
  for (int i = 0; i < kMaxAdviceRows + 1; ++i) rows += "ROWS(t" + std::to_string(i) + " *2) ";
  EXPECT_NE(Parse(rows).error.find("more than 16 ROWS"), std::string::npos);
  std::string hints;
  for (int i = 0; i < kMaxAdviceHints + 1; ++i) hints += "SEQSCAN(t" + std::to_string(i) + ") ";
  EXPECT_NE(Parse(hints).error.find("more than 16 join, scan"), std::string::npos);
  std::string leading = "LEADING(";
  for (int i = 0; i < kMaxAdviceRelations + 1; ++i) leading += "t" + std::to_string(i) + " ";
  EXPECT_NE(Parse(leading + ")").error.find("more than 16 relations"), std::string::npos);
  // Offsets are 1-based bytes of the input.
  EXPECT_EQ(Parse("SEQSCAN(a) HASHJOIN(a)").error, "HASHJOIN needs at least two relations at byte 22");
  EXPECT_EQ(Parse("SEQSCAN(a) FOO(b)").error.substr(0, 14), "expected SET, ");
  EXPECT_NE(Parse("SEQSCAN(a) FOO(b)").error.find("at byte 12"), std::string::npos);
}

TEST(PlanAdviceTest, HintsRoundTrip) {
  Result r = Parse(
      " hashjoin( O c ) no_nestloop(c \"Big T\") seqscan(o) IndexScan(c C_Pkey) bitmapscan(#77)"
      " mergejoin(#12) leading(c o \"Big T\") SET(enable_hashjoin=off) rows(o *2) nestloop(o \"Big T\")");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.canonical,
            "SET(enable_hashjoin=off) ROWS(o *2) HASHJOIN(o c) NO_NESTLOOP(c \"Big T\") SEQSCAN(o) "
            "INDEXSCAN(c c_pkey) BITMAPSCAN(#77) MERGEJOIN(#12) LEADING(c o \"Big T\") NESTLOOP(o \"Big T\")");
  Result again = Parse(r.canonical);
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_EQ(again.canonical, r.canonical);
  static ParsedAdvice parsed;
  char err[160];
  ASSERT_TRUE(ParseAdvice(r.canonical.data(), r.canonical.size(), &parsed, err, sizeof(err))) << err;
  ASSERT_EQ(parsed.hint_count, 8);
  EXPECT_EQ(parsed.hints[0].kind, HintKind::kHashJoin);
  EXPECT_EQ(parsed.hints[3].kind, HintKind::kIndexScan);
  EXPECT_STREQ(parsed.hints[3].index, "c_pkey");
  EXPECT_EQ(parsed.hints[4].relation_count, 0);
  EXPECT_EQ(parsed.hints[4].relset, 77u);
  EXPECT_EQ(parsed.hints[6].kind, HintKind::kLeading);
  EXPECT_STREQ(parsed.hints[6].aliases[2], "Big T");
  // INDEXSCAN without an index name; a quoted index name.
  EXPECT_EQ(Parse("INDEXSCAN( a )").canonical, "INDEXSCAN(a)");
  EXPECT_EQ(Parse("INDEXSCAN(a \"My Idx\")").canonical, "INDEXSCAN(a \"My Idx\")");
  // A join hint and a scan hint may name the same relations; so may
  // LEADING and a join hint.
  EXPECT_TRUE(Parse("SEQSCAN(a) NESTLOOP(a b) LEADING(a b)").ok);
}

TEST(PlanAdviceTest, HintKinds) {
  EXPECT_EQ(AllowedJoinMethods(HintKind::kHashJoin), kJoinHash);
  EXPECT_EQ(AllowedJoinMethods(HintKind::kNoHashJoin), kJoinNestLoop | kJoinMerge);
  EXPECT_EQ(AllowedJoinMethods(HintKind::kNoNestLoop), kJoinMerge | kJoinHash);
  EXPECT_EQ(AllowedJoinMethods(HintKind::kSeqScan), 0u);
  EXPECT_TRUE(IsJoinHint(HintKind::kNoMergeJoin));
  EXPECT_FALSE(IsJoinHint(HintKind::kLeading));
  EXPECT_TRUE(IsScanHint(HintKind::kBitmapScan));
  EXPECT_FALSE(IsScanHint(HintKind::kLeading));
  EXPECT_STREQ(HintKeyword(HintKind::kNoMergeJoin), "NO_MERGEJOIN");
  EXPECT_STREQ(HintKeyword(HintKind::kNone), "");
}

TEST(PlanAdviceTest, SettingsLinesAndAppenders) {
  static ParsedAdvice parsed;
  char err[160];
  const char* text = "SET(enable_nestloop=off join_collapse_limit=1)";
  ASSERT_TRUE(ParseAdvice(text, std::strlen(text), &parsed, err, sizeof(err))) << err;
  char lines[512];
  ASSERT_TRUE(AdviceSettingsLines(parsed, lines, sizeof(lines)));
  EXPECT_STREQ(lines, "enable_nestloop=off\njoin_collapse_limit=1\n");
  char tiny[8];
  EXPECT_FALSE(AdviceSettingsLines(parsed, tiny, sizeof(tiny)));

  char out[256] = {0};
  EXPECT_FALSE(AppendSettingsAdvice("", out, sizeof(out)));
  ASSERT_TRUE(AppendSettingsAdvice("enable_nestloop=off\nwork_mem=64 MB\n", out, sizeof(out)));
  const char aliases[2][kAdviceNameLen] = {"orders", "Big Table"};
  char relations[128];
  FormatAliases(aliases, 2, relations, sizeof(relations));
  AppendRowsAdvice(relations, 7, 40.0, out, sizeof(out));
  AppendRowsAdvice("", 7, 0.5, out, sizeof(out));
  EXPECT_STREQ(out, "SET(enable_nestloop=off work_mem='64 MB') ROWS(orders \"Big Table\" *40) ROWS(#7 *0.5)");
  // What the printers write parses back.
  ASSERT_TRUE(ParseAdvice(out, std::strlen(out), &parsed, err, sizeof(err))) << err;
  EXPECT_EQ(parsed.rows_count, 2);
  EXPECT_EQ(parsed.rows[1].relset, 7u);
  // Truncation is bounded and NUL-terminated.
  char small[12] = {0};
  AppendRowsAdvice(relations, 7, 40.0, small, sizeof(small));
  EXPECT_EQ(std::strlen(small), sizeof(small) - 1);
}

}  // namespace
}  // namespace ruvector_pg
