# ruvector_pqclean: the PQClean "clean" C sources of ML-KEM-768 and ML-DSA-65
# (plus PQClean's FIPS 202 Keccak), compiled as C99 exactly as shipped in the
# npm package pqclean@0.8.1. scripts/setup.sh installs that package, pinned by
# integrity, under third_party/pqclean/node_modules/; the sources are never
# edited and never committed. randombytes() is not taken from PQClean: the
# sync module supplies it (src/sync/pq.cc) so that randomness comes from the
# system CSPRNG and known-answer tests can substitute a deterministic stream.
#
# Defines the OBJECT library ruvector_pqclean and the variable
# RUVECTOR_PQCLEAN_INCLUDE_DIRS (the PQClean root and common/).
set(RUVECTOR_PQCLEAN_DIR
    "${PROJECT_SOURCE_DIR}/third_party/pqclean/node_modules/pqclean/deps/PQClean"
    CACHE PATH "PQClean tree from the npm package pqclean@0.8.1 (installed by scripts/setup.sh)")

set(_pq_kem ${RUVECTOR_PQCLEAN_DIR}/crypto_kem/ml-kem-768/clean)
set(_pq_dsa ${RUVECTOR_PQCLEAN_DIR}/crypto_sign/ml-dsa-65/clean)
set(_pq_common ${RUVECTOR_PQCLEAN_DIR}/common)
set(_pq_sources
  ${_pq_kem}/cbd.c ${_pq_kem}/indcpa.c ${_pq_kem}/kem.c ${_pq_kem}/ntt.c
  ${_pq_kem}/poly.c ${_pq_kem}/polyvec.c ${_pq_kem}/reduce.c
  ${_pq_kem}/symmetric-shake.c ${_pq_kem}/verify.c
  ${_pq_dsa}/ntt.c ${_pq_dsa}/packing.c ${_pq_dsa}/poly.c ${_pq_dsa}/polyvec.c
  ${_pq_dsa}/reduce.c ${_pq_dsa}/rounding.c ${_pq_dsa}/sign.c
  ${_pq_dsa}/symmetric-shake.c
  ${_pq_common}/fips202.c)

foreach(_f IN LISTS _pq_sources)
  if(NOT EXISTS ${_f})
    message(FATAL_ERROR
      "PQClean source ${_f} is missing. The sync module compiles ML-KEM-768 and "
      "ML-DSA-65 from the npm package pqclean@0.8.1: run scripts/setup.sh (it runs "
      "npm ci --ignore-scripts in third_party/pqclean and checks the pinned integrity), "
      "or point -DRUVECTOR_PQCLEAN_DIR at a PQClean tree of that release.")
  endif()
endforeach()

enable_language(C)
add_library(ruvector_pqclean OBJECT ${_pq_sources})
set_target_properties(ruvector_pqclean PROPERTIES
  C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF POSITION_INDEPENDENT_CODE ON)
target_include_directories(ruvector_pqclean PRIVATE ${_pq_common})
# Users include "crypto_kem/ml-kem-768/clean/api.h", "crypto_sign/ml-dsa-65/clean/api.h"
# and "fips202.h" (the two schemes' headers share file names).
set(RUVECTOR_PQCLEAN_INCLUDE_DIRS ${RUVECTOR_PQCLEAN_DIR} ${_pq_common})
