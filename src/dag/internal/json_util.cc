#include "dag/internal/json_util.h"

namespace ruvector_dag::internal {

Status CheckJsonShape(std::string_view text, const ParseLimits& limits) {
  if (text.size() > limits.max_input_bytes) {
    return Status::OutOfRange("input is " + std::to_string(text.size()) +
                              " bytes; the limit is " + std::to_string(limits.max_input_bytes));
  }
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limits.max_nesting) {
        return Status::OutOfRange("JSON nesting deeper than " + std::to_string(limits.max_nesting) +
                                  " at byte " + std::to_string(i));
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return Status::Ok();
}

Result<nlohmann::json> ParseJson(std::string_view text, const ParseLimits& limits,
                                 std::string_view what) {
  RUVECTOR_RETURN_IF_ERROR(CheckJsonShape(text, limits).WithContext(what));
  bool failed = false;
  std::string error;
  size_t error_at = 0;
  // No parser callback: nlohmann's callback DOM parser rescans the enclosing
  // container at every object end, quadratic on wide arrays ("[{},{},...]").
  // allow_exceptions = false: a syntax error yields a discarded value.
  nlohmann::json doc = nlohmann::json::parse(text.begin(), text.end(), /*cb=*/nullptr,
                                             /*allow_exceptions=*/false,
                                             /*ignore_comments=*/false);
  if (doc.is_discarded()) {
    failed = true;
    // Locate the error cheaply with the SAX interface for a useful message.
    struct Locator : nlohmann::json_sax<nlohmann::json> {
      size_t at = 0;
      std::string msg;
      bool null() override { return true; }
      bool boolean(bool) override { return true; }
      bool number_integer(number_integer_t) override { return true; }
      bool number_unsigned(number_unsigned_t) override { return true; }
      bool number_float(number_float_t, const string_t&) override { return true; }
      bool string(string_t&) override { return true; }
      bool binary(binary_t&) override { return true; }
      bool start_object(std::size_t) override { return true; }
      bool key(string_t&) override { return true; }
      bool end_object() override { return true; }
      bool start_array(std::size_t) override { return true; }
      bool end_array() override { return true; }
      bool parse_error(std::size_t position, const std::string&,
                       const nlohmann::detail::exception& ex) override {
        at = position;
        msg = ex.what();
        return false;
      }
    } locator;
    nlohmann::json::sax_parse(text.begin(), text.end(), &locator, nlohmann::json::input_format_t::json,
                              /*strict=*/true, /*ignore_comments=*/false);
    error = locator.msg;
    error_at = locator.at;
  }
  if (failed) {
    if (text.empty()) return Status::InvalidArgument(std::string(what) + ": empty input");
    return Status::InvalidArgument(std::string(what) + ": invalid JSON near byte " +
                                   std::to_string(error_at) + (error.empty() ? "" : " (" + error + ")"));
  }
  return doc;
}

std::string JsonTypeName(const nlohmann::json& v) { return v.type_name(); }

}  // namespace ruvector_dag::internal
