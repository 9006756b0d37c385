// Files that hold a node's secrets or state: written atomically with mode
// 0600, read back without trusting what is at the path.
#ifndef RUVECTOR_DAG_SYNC_INTERNAL_PRIVATE_FILE_H_
#define RUVECTOR_DAG_SYNC_INTERNAL_PRIVATE_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "ruvector_dag/status.h"

namespace ruvector_dag::sync::internal {

/// Writes `size` bytes to `path` atomically: a temporary file next to it
/// (mode 0600, also when it existed), fsync, rename over `path`, then an
/// fsync of the directory so that the rename survives a crash. `what` names
/// the file in errors ("keystore: cannot write ..."). kFailedPrecondition
/// when any step fails (the temporary file is removed).
Status WritePrivateFile(const std::string& path, const uint8_t* data, size_t size, const char* what);

/// Reads exactly `size` bytes from `fd` (retrying interrupted reads); false
/// on an error or a short read.
bool ReadExactly(int fd, uint8_t* data, size_t size);

}  // namespace ruvector_dag::sync::internal

#endif  // RUVECTOR_DAG_SYNC_INTERNAL_PRIVATE_FILE_H_
