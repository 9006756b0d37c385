// libFuzzer target for ReadRustJson (the original crate's JSON). A document
// that reads successfully only holds types the crate has, so it must write
// back (WriteRustJson cannot fail), read back to an equal DAG and write the
// same bytes again; anything else aborts so libFuzzer reports it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ruvector_dag/formats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ruvector_dag;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Result<QueryDag> dag = ReadRustJson(input);
  if (!dag.ok()) return 0;
  if (!dag->Validate().ok()) {
    std::fprintf(stderr, "accepted DAG fails Validate\n");
    std::abort();
  }
  Result<std::string> written = WriteRustJson(*dag);
  if (!written.ok()) {
    std::fprintf(stderr, "write failed: %s\n", written.status().ToString().c_str());
    std::abort();
  }
  Result<QueryDag> again = ReadRustJson(*written);
  if (!again.ok()) {
    std::fprintf(stderr, "re-read failed: %s\n", again.status().ToString().c_str());
    std::abort();
  }
  Result<std::string> rewritten = WriteRustJson(*again);
  if (!(*again == *dag) || !rewritten.ok() || *rewritten != *written) {
    std::fprintf(stderr, "round trip changed the DAG\n");
    std::abort();
  }
  return 0;
}
