// TEST SUPPORT: replaces the global allocation functions with malloc-based
// ones that count calls, so tests can prove a hot path allocates nothing.
// Include from exactly one translation unit of a test binary. Every
// non-aligned new/delete form is replaced so pairs always match (sanitizers
// check that); aligned forms keep the default implementation.
#ifndef RUVECTOR_DAG_SRC_SONA_INTERNAL_COUNTING_NEW_H_
#define RUVECTOR_DAG_SRC_SONA_INTERNAL_COUNTING_NEW_H_

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace ruvector_dag::testing_support {
inline std::atomic<uint64_t> g_allocations{0};
inline uint64_t AllocationCount() { return g_allocations.load(std::memory_order_relaxed); }
inline void* CountedMalloc(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace ruvector_dag::testing_support

void* operator new(size_t size) {
  if (void* p = ruvector_dag::testing_support::CountedMalloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) {
  if (void* p = ruvector_dag::testing_support::CountedMalloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  return ruvector_dag::testing_support::CountedMalloc(size);
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  return ruvector_dag::testing_support::CountedMalloc(size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

#endif  // RUVECTOR_DAG_SRC_SONA_INTERNAL_COUNTING_NEW_H_
