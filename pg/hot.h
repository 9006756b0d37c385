// Layout of the per-statement path (PG zone; no PostgreSQL headers needed).
//
// Every statement a backend executes runs the executor hooks, the plan
// lookup, the statement timer and, for a steady pattern, its window: a few
// hundred instructions that, between two statements, the rest of the
// server's work (and the other processes sharing the CPU) evicts from the
// caches. Spread over the module's 2 MB of code and the data of a dozen files,
// they cost more in cache and TLB misses than in instructions
// (docs/benchmarks.md, "Observation throughput"). So:
//  * RUVECTOR_HOT marks a function of that path: GCC places such functions
//    together (.text.hot), a few pages of code instead of one per file;
//  * RUVECTOR_HOT_DATA marks a backend-local variable that path reads or
//    writes (scalars and small arrays only): they share one section of
//    their own (a name the linker merges into no other), a few
//    cache lines instead of one or two per file.
// Neither changes what the code does.
#ifndef RUVECTOR_PG_HOT_H_
#define RUVECTOR_PG_HOT_H_

#define RUVECTOR_HOT __attribute__((hot))
#define RUVECTOR_HOT_DATA __attribute__((section("ruvector_hot_data")))

#endif  // RUVECTOR_PG_HOT_H_
