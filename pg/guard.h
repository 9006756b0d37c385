// The one boundary between the C++ zone and PostgreSQL.
//
// InvokeCpp runs C++ code that must not touch PostgreSQL (no palloc, no
// ereport, no catalog access) and turns anything it throws into a Status, so
// no C++ exception crosses into PostgreSQL's C frames. The PG zone then calls
// ReportStatus (the apply zone), which may ereport -- by then every C++ object
// of the call has been destroyed, so no longjmp skips a destructor.
//
// Results that the PG zone reads after the C++ zone (rows of a set-returning
// function) live in a CppBox: a heap object whose destructor is registered as
// a reset callback of a memory context, so an ereport in the PG zone frees it
// when PostgreSQL cleans up that context.
#ifndef RUVECTOR_PG_GUARD_H_
#define RUVECTOR_PG_GUARD_H_

#include <exception>
#include <new>
#include <string>
#include <utility>

#include "ruvector_dag/status.h"

namespace ruvector_pg {

using ruvector_dag::Status;
using ruvector_dag::StatusCode;

/// Runs `fn` (returning Status) and converts exceptions to kInternal /
/// kResourceExhausted. Never throws.
template <typename Fn>
Status InvokeCpp(const char* where, Fn&& fn) noexcept {
  try {
    return std::forward<Fn>(fn)();
  } catch (const std::bad_alloc&) {
    try {
      return Status::ResourceExhausted(std::string(where) + ": out of memory");
    } catch (...) {
      return Status(StatusCode::kResourceExhausted, std::string());
    }
  } catch (const std::exception& e) {
    try {
      return Status::Internal(std::string(where) + ": " + e.what());
    } catch (...) {
      return Status(StatusCode::kInternal, std::string());
    }
  } catch (...) {
    try {
      return Status::Internal(std::string(where) + ": unknown exception");
    } catch (...) {
      return Status(StatusCode::kInternal, std::string());
    }
  }
}

/// A Status flattened into plain data (fixed buffer, no destructor), so it
/// can outlive the C++ zone and be reported with ereport safely.
struct PlainStatus {
  StatusCode code = StatusCode::kOk;
  char message[1024] = {0};
  bool ok() const { return code == StatusCode::kOk; }
};

/// Copies `status` (truncating the message) into plain data. Never throws.
PlainStatus Flatten(const Status& status) noexcept;

/// Runs `fn` under InvokeCpp and returns the flattened outcome; every C++
/// temporary of the call is gone when this returns.
template <typename Fn>
PlainStatus RunCpp(const char* where, Fn&& fn) noexcept {
  return Flatten(InvokeCpp(where, std::forward<Fn>(fn)));
}

/// The apply zone: ereport(elevel) with the SQLSTATE mapped from the code,
/// when `status` is an error. At ERROR it does not return. Defined in
/// guard.cc (PG zone).
void ReportStatus(const PlainStatus& status, int elevel);

}  // namespace ruvector_pg

#ifdef PG_VERSION_NUM  // PG zone only (shim.h included first)
namespace ruvector_pg {

/// Creates a value-initialized T whose lifetime ends when memory context
/// `cxt` is reset or deleted (including error cleanup). T's default
/// constructor must not throw (std containers' do not).
template <typename T>
T* NewOwnedByContext(MemoryContext cxt) {
  auto* cb = static_cast<MemoryContextCallback*>(MemoryContextAllocZero(cxt, sizeof(MemoryContextCallback)));
  T* obj = new (std::nothrow) T();
  if (obj == nullptr) ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("ruvector_dag: out of memory")));
  cb->func = [](void* arg) { delete static_cast<T*>(arg); };
  cb->arg = obj;
  MemoryContextRegisterResetCallback(cxt, cb);
  return obj;
}

}  // namespace ruvector_pg
#endif  // PG_VERSION_NUM

#endif  // RUVECTOR_PG_GUARD_H_
