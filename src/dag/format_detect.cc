// Format names, detection and ReadAnyFormat.
//
// Detection never parses the whole document into a tree: the binary magic is
// a prefix test, and for JSON a byte scanner walks the top-level object's
// keys (skipping nested values by bracket counting, strings aware), in O(n)
// time and O(1) memory with no recursion. Rules (docs/formats.md):
//   "RVDG" prefix                                    -> binary
//   top-level object with a "format" key             -> our JSON
//   top-level object with a "Plan" key               -> EXPLAIN JSON
//   array whose first element is an object with "Plan" -> EXPLAIN JSON
//   top-level object with a "nodes" key (no "format") -> the crate's JSON
#include <string>
#include <string_view>

#include "ruvector_dag/formats.h"

namespace ruvector_dag {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }
  bool Consume(char c) {
    SkipSpace();
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  // Reads a JSON string's raw contents (escapes left as written); false when
  // unterminated.
  bool String(std::string_view* out) {
    SkipSpace();
    if (Peek() != '"') return false;
    const size_t start = ++pos_;
    bool escaped = false;
    for (; pos_ < s_.size(); ++pos_) {
      const char c = s_[pos_];
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        *out = s_.substr(start, pos_ - start);
        ++pos_;
        return true;
      }
    }
    return false;
  }
  // Skips one value of any kind; false when the input ends first.
  bool SkipValue() {
    SkipSpace();
    if (AtEnd()) return false;
    const char c = Peek();
    if (c == '"') {
      std::string_view ignored;
      return String(&ignored);
    }
    if (c == '{' || c == '[') {
      size_t depth = 0;
      bool in_string = false;
      bool escaped = false;
      for (; pos_ < s_.size(); ++pos_) {
        const char d = s_[pos_];
        if (in_string) {
          if (escaped) {
            escaped = false;
          } else if (d == '\\') {
            escaped = true;
          } else if (d == '"') {
            in_string = false;
          }
        } else if (d == '"') {
          in_string = true;
        } else if (d == '{' || d == '[') {
          ++depth;
        } else if (d == '}' || d == ']') {
          if (--depth == 0) {
            ++pos_;
            return true;
          }
        }
      }
      return false;
    }
    // Scalar: up to the next separator.
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '}' && s_[pos_] != ']') ++pos_;
    return true;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

struct TopKeys {
  bool format = false;
  bool plan = false;
  bool nodes = false;
};

// Scans the object starting at the scanner's position (after '{'). Stops
// early at a deciding key. Returns false on malformed input.
bool ScanObjectKeys(Scanner& s, TopKeys* keys) {
  if (s.Consume('}')) return true;
  while (true) {
    std::string_view key;
    if (!s.String(&key) || !s.Consume(':')) return false;
    if (key == "format") {
      keys->format = true;
      return true;
    }
    if (key == "Plan") {
      keys->plan = true;
      return true;
    }
    if (key == "nodes") keys->nodes = true;
    if (!s.SkipValue()) return false;
    if (s.Consume(',')) continue;
    return s.Consume('}');
  }
}

}  // namespace

std::string_view DagFormatName(DagFormat format) {
  switch (format) {
    case DagFormat::kJson: return "json";
    case DagFormat::kRustJson: return "rust-json";
    case DagFormat::kBinary: return "binary";
    case DagFormat::kExplainJson: return "explain-json";
  }
  return "unknown";
}

std::optional<DagFormat> DagFormatFromName(std::string_view name) {
  for (DagFormat f : {DagFormat::kJson, DagFormat::kRustJson, DagFormat::kBinary, DagFormat::kExplainJson}) {
    if (DagFormatName(f) == name) return f;
  }
  return std::nullopt;
}

Result<DagFormat> DetectFormat(std::string_view bytes) {
  if (bytes.empty()) return Status::InvalidArgument("cannot detect the format of empty input");
  if (bytes.size() >= 4 && bytes.substr(0, 4) == "RVDG") return DagFormat::kBinary;
  // A UTF-8 byte order mark is tolerated in front of JSON.
  if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  Scanner s(bytes);
  TopKeys keys;
  const char* problem = nullptr;
  if (s.Consume('{')) {
    if (!ScanObjectKeys(s, &keys) && !keys.format && !keys.plan) {
      problem = "malformed JSON object";
    }
    if (keys.format) return DagFormat::kJson;
    if (keys.plan) return DagFormat::kExplainJson;
    // With a "nodes" key, a syntax error later on is the crate reader's to report.
    if (keys.nodes) return DagFormat::kRustJson;
    if (problem == nullptr) problem = "JSON object without a \"format\", \"Plan\" or \"nodes\" key";
  } else if (s.Consume('[')) {
    if (s.Consume('{')) {
      ScanObjectKeys(s, &keys);
      if (keys.plan) return DagFormat::kExplainJson;
    }
    problem = "JSON array whose first element is not an object with a \"Plan\" key";
  } else {
    problem = "neither the binary magic \"RVDG\" nor a JSON object or array";
  }
  return Status::InvalidArgument(std::string("cannot detect the format: ") + problem +
                                 " (expected ruvector-dag JSON, the Rust crate's JSON, binary or EXPLAIN JSON)");
}

Result<QueryDag> ReadAnyFormat(std::string_view bytes, DagFormat* detected, const ParseLimits& limits) {
  RUVECTOR_ASSIGN_OR_RETURN(DagFormat format, DetectFormat(bytes));
  if (detected != nullptr) *detected = format;
  switch (format) {
    case DagFormat::kJson: return ReadJson(bytes, limits);
    case DagFormat::kRustJson: return ReadRustJson(bytes, limits);
    case DagFormat::kBinary: return ReadBinary(bytes, limits);
    case DagFormat::kExplainJson: return ImportExplainJson(bytes, limits);
  }
  return Status::Internal("unhandled format");
}

}  // namespace ruvector_dag
