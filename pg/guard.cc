// The apply zone: Status -> ereport with a SQLSTATE.
#include "shim.h"

#include "guard.h"

namespace ruvector_pg {

PlainStatus Flatten(const Status& status) noexcept {
  PlainStatus out;
  out.code = status.code();
  const std::string& msg = status.message();
  size_t n = std::min(msg.size(), sizeof(out.message) - 1);
  std::memcpy(out.message, msg.data(), n);
  out.message[n] = '\0';
  if (!status.ok() && n == 0) {
    std::strncpy(out.message, "internal error without a message", sizeof(out.message) - 1);
  }
  return out;
}

static int SqlStateFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return ERRCODE_SUCCESSFUL_COMPLETION;
    case StatusCode::kInvalidArgument: return ERRCODE_INVALID_PARAMETER_VALUE;
    case StatusCode::kNotFound: return ERRCODE_UNDEFINED_OBJECT;
    case StatusCode::kAlreadyExists: return ERRCODE_DUPLICATE_OBJECT;
    case StatusCode::kFailedPrecondition: return ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
    case StatusCode::kOutOfRange: return ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
    case StatusCode::kDataLoss: return ERRCODE_DATA_CORRUPTED;
    case StatusCode::kResourceExhausted: return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
    case StatusCode::kUnimplemented: return ERRCODE_FEATURE_NOT_SUPPORTED;
    case StatusCode::kInternal: return ERRCODE_INTERNAL_ERROR;
  }
  return ERRCODE_INTERNAL_ERROR;
}

void ReportStatus(const PlainStatus& status, int elevel) {
  if (status.ok()) return;
  ereport(elevel, (errcode(SqlStateFor(status.code)), errmsg("ruvector_dag: %s", status.message)));
}

}  // namespace ruvector_pg
