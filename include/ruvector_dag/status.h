// Status and Result<T>: errors are values across the whole library.
//
// The library builds with -fno-exceptions (for WASM), so every fallible
// operation returns a Status or a Result<T>. Messages say what was wrong and
// where ("edge 4->2 would create a cycle"). Both types are cheap to move and
// carry no heap allocation when OK.
#ifndef RUVECTOR_DAG_STATUS_H_
#define RUVECTOR_DAG_STATUS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace ruvector_dag {

/// Error categories. Hosts map them to their own codes (CLI exit codes,
/// PostgreSQL SQLSTATEs, JS exceptions).
enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument,     // malformed input or a bad parameter
  kNotFound,            // an id or name that does not exist
  kAlreadyExists,       // duplicate edge, duplicate name
  kFailedPrecondition,  // operation not valid in the current state (cycle, empty DAG)
  kOutOfRange,          // number or size beyond a documented limit
  kDataLoss,            // checksum mismatch, truncated data
  kResourceExhausted,   // a bounded structure is full
  kUnimplemented,       // feature not available in this build
  kInternal,            // a bug: an invariant was broken
};

/// Returns a stable lower-case name for `code` ("invalid_argument", ...).
std::string_view StatusCodeName(StatusCode code);

/// The outcome of an operation: OK, or an error code with a message.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) { return {StatusCode::kFailedPrecondition, std::move(msg)}; }
  static Status OutOfRange(std::string msg) { return {StatusCode::kOutOfRange, std::move(msg)}; }
  static Status DataLoss(std::string msg) { return {StatusCode::kDataLoss, std::move(msg)}; }
  static Status ResourceExhausted(std::string msg) { return {StatusCode::kResourceExhausted, std::move(msg)}; }
  static Status Unimplemented(std::string msg) { return {StatusCode::kUnimplemented, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  /// "OK" or "<code name>: <message>".
  std::string ToString() const;

  /// Returns a copy whose message is prefixed with `context` + ": ".
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

/// A value of type T or an error Status. Accessing value() of an error
/// Result is a bug and aborts.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  // By value, so `for (x : F().value())` does not dangle.
  T value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

namespace internal {
inline const Status& AsStatus(const Status& s) { return s; }
template <typename T>
const Status& AsStatus(const Result<T>& r) { return r.status(); }
}  // namespace internal

}  // namespace ruvector_dag

#define RUVECTOR_CONCAT_INNER_(a, b) a##b
#define RUVECTOR_CONCAT_(a, b) RUVECTOR_CONCAT_INNER_(a, b)

/// Returns the error from the enclosing function if `expr` (a Status or a
/// Result) is not OK.
#define RUVECTOR_RETURN_IF_ERROR(expr)                                   \
  do {                                                                   \
    const auto& ruvector_status_ = (expr);                               \
    if (!::ruvector_dag::internal::AsStatus(ruvector_status_).ok())      \
      return ::ruvector_dag::internal::AsStatus(ruvector_status_);       \
  } while (0)

/// `RUVECTOR_ASSIGN_OR_RETURN(auto x, MakeX());` declares/assigns from a
/// Result or returns its error.
#define RUVECTOR_ASSIGN_OR_RETURN(lhs, expr) \
  RUVECTOR_ASSIGN_OR_RETURN_IMPL_(RUVECTOR_CONCAT_(ruvector_result_, __LINE__), lhs, expr)
#define RUVECTOR_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()

#endif  // RUVECTOR_DAG_STATUS_H_
