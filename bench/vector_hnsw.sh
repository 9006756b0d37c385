#!/usr/bin/env bash
# ruhnsw benchmark (run by hand, numbers go to docs/benchmarks.md): on a
# private cluster, for a uniform and a clustered set of N seeded vectors
# (generated here), times CREATE INDEX and measures recall@10 and mean query
# latency at several ruvector.hnsw_ef_search values against exact search
# (sequential scan), over Q unseen seeded queries; then filtered queries
# `WHERE cat < x ORDER BY v <-> q LIMIT 10` at 1 %, 10 % and 50 % of the
# rows, answered (a) by the ruhnsw index scan with the filter applied to its
# rows, at a larger ef_search, and (b) exactly, by the plan PostgreSQL picks
# without index scans (a bitmap scan of the btree on cat, or a sequential
# scan, then a top-N sort).
# Usage: bench/vector_hnsw.sh [BUILD_DIR]
# Env:   RV_BENCH_N (100000) RV_BENCH_DIMS (128) RV_BENCH_QUERIES (100)
#        RV_BENCH_M (16) RV_BENCH_EFC (64) RV_BENCH_EFS ("10 40 100 200")
#        RV_BENCH_FILTER_EFS ("40 1000") RV_BENCH_FILTERS ("1 10 50", percent)
#        RV_BENCH_HOST, RV_BENCH_PORT, RV_BENCH_DB: use that running server
#        (extension installed, database without the tables) instead of a
#        private cluster.
#        RV_BENCH_PRIVATE=1: no install and no lock -- the private cluster
#        gets the type, functions and access method from the build's
#        vector/ruvector.so by running the extension's SQL script with that
#        path (objects outside an extension; the same code).
# Without RV_BENCH_HOST: installs the extension and starts a private cluster,
# holding /tmp/ruvector_pg_install.lock meanwhile. Run as root (the server
# runs as `postgres`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n=${RV_BENCH_N:-100000}
dims=${RV_BENCH_DIMS:-128}
queries=${RV_BENCH_QUERIES:-100}
m=${RV_BENCH_M:-16}
efc=${RV_BENCH_EFC:-64}
efs=${RV_BENCH_EFS:-10 40 100 200}
filter_efs=${RV_BENCH_FILTER_EFS:-40 1000}
filters=${RV_BENCH_FILTERS:-1 10 50}
bindir=$(/usr/lib/postgresql/15/bin/pg_config --bindir)
if [ -n "${RV_BENCH_HOST:-}" ]; then
  # An already running server (the extension installed there).
  host=$RV_BENCH_HOST
  port=${RV_BENCH_PORT:-5432}
else
  cmake --build "$build" --target ruvector_pg ruvector_dag_pg -j 2 >/dev/null
  if [ "${RV_BENCH_PRIVATE:-0}" != 1 ]; then
    exec 9>/tmp/ruvector_pg_install.lock
    flock 9
    cmake --install "$build" --component pg >/dev/null
  fi
  work=$(mktemp -d /tmp/ruvector_vector_bench.XXXXXX)
  chmod 755 "$work"
  chown postgres "$work"
  as_pg=(runuser -u postgres --)
  cleanup() { "${as_pg[@]}" "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"; }
  trap cleanup EXIT
  "${as_pg[@]}" "$bindir/initdb" -D "$work/data" -U postgres -A trust --no-sync >/dev/null
  cat >>"$work/data/postgresql.conf" <<EOC
listen_addresses = ''
unix_socket_directories = '$work'
port = 5432
shared_buffers = '512MB'
maintenance_work_mem = '1GB'
max_parallel_workers_per_gather = 0
fsync = off
EOC
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$work/data" -l "$work/log" -w start >/dev/null
  host=$work
  port=5432
fi
psql() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d "${RV_BENCH_DB:-postgres}" -At "$@"; }
if [ "${RV_BENCH_PRIVATE:-0}" = 1 ]; then
  library=$(cd "$build/vector" && pwd)/ruvector.so
  grep -v '^\\echo Use' "$root/vector/sql/ruvector--0.1.0.sql" | sed "s|MODULE_PATHNAME|$library|g" | psql -f -
else
  psql -c "CREATE EXTENSION ruvector"
fi
psql <<SQL
-- Uniform: coordinates uniform in [0, 1), vector i from seed i. cat: the
-- filter column, (i * 7919) % 100 -- each value on 1 % of the rows,
-- unrelated to the vector.
CREATE TABLE uniform (id int PRIMARY KEY, v ruvector($dims), cat int);
INSERT INTO uniform SELECT i, random_vector($dims, i), (i * 7919) % 100 FROM generate_series(1, $n) i;
-- Clustered: 100 centers of unequal size (cluster of row i = floor(100 * u^2)),
-- points = center + triangular noise in (-0.1, 0.1) per coordinate (centers uniform in [0, 1)).
CREATE TABLE clustered (id int PRIMARY KEY, v ruvector($dims), cat int);
INSERT INTO clustered
  SELECT i, random_vector($dims, 50000000 + floor(100 * power(((i * 2654435761::bigint) % 1000003) / 1000003.0, 2))::int)
            + (random_vector($dims, 70000000 + i) - random_vector($dims, 90000000 + i)) * 0.1,
         (i * 7919) % 100
  FROM generate_series(1, $n) i;
CREATE INDEX uniform_cat ON uniform (cat);
CREATE INDEX clustered_cat ON clustered (cat);
-- Unseen queries: seeds outside the data's.
CREATE TABLE q_uniform AS SELECT q, random_vector($dims, 1000000000 + q) AS v FROM generate_series(1, $queries) q;
CREATE TABLE q_clustered AS
  SELECT q, random_vector($dims, 50000000 + (q % 100)) + (random_vector($dims, 80000000 + q) - random_vector($dims, 85000000 + q)) * 0.1 AS v
  FROM generate_series(1, $queries) q;
VACUUM ANALYZE;
-- Plan settings of a mode: 'exact' = no index scans (sequential or bitmap
-- scan, then a sort); 'index' = the ruhnsw index scan (sequential, bitmap
-- and sort paths disabled, so the btree on cat is not used instead).
CREATE FUNCTION use_mode(mode text) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
  PERFORM set_config('enable_indexscan', (mode = 'index')::text, true);
  PERFORM set_config('enable_seqscan', (mode = 'exact')::text, true);
  PERFORM set_config('enable_bitmapscan', (mode = 'exact')::text, true);
  PERFORM set_config('enable_sort', (mode = 'exact')::text, true);
END \$\$;
-- recall@10 (against mode 'exact') and mean latency of mode "mode" at
-- ef_search "ef", for the queries of "qtab", with WHERE "cond".
CREATE FUNCTION run(tab text, qtab text, mode text, ef int, cond text, OUT recall float8, OUT mean_ms float8)
LANGUAGE plpgsql AS \$\$
DECLARE r record; got int[]; exact int[]; t0 timestamptz; total float8 := 0; hits int := 0; sql text;
BEGIN
  PERFORM set_config('ruvector.hnsw_ef_search', ef::text, true);
  sql := format('SELECT array_agg(id) FROM (SELECT id FROM %I WHERE %s ORDER BY v <-> \$1 LIMIT 10) s', tab, cond);
  FOR r IN EXECUTE format('SELECT q, v FROM %I ORDER BY q', qtab) LOOP
    PERFORM use_mode('exact');
    EXECUTE sql INTO exact USING r.v;
    PERFORM use_mode(mode);
    t0 := clock_timestamp();
    EXECUTE sql INTO got USING r.v;
    total := total + extract(epoch FROM clock_timestamp() - t0) * 1000;
    hits := hits + (SELECT count(*) FROM unnest(got) g WHERE g = ANY (exact));
  END LOOP;
  EXECUTE format('SELECT count(*) FROM %I', qtab) INTO r;
  recall := hits / (10.0 * r.count);
  mean_ms := total / r.count;
END \$\$;
-- The plan's scan and sort nodes of mode "mode" for the query shape (a check that
-- the mode runs the plan it names).
CREATE FUNCTION plan_of(tab text, mode text, cond text) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE line text; scans text := '';
BEGIN
  PERFORM use_mode(mode);
  FOR line IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT id FROM %I WHERE %s ORDER BY v <-> (SELECT v FROM q_%s LIMIT 1) LIMIT 10',
                             tab, cond, tab) LOOP
    IF line ~ '(Scan|Sort)' AND line !~ '(q_|Key:)' THEN scans := scans || CASE WHEN scans = '' THEN '' ELSE ' > ' END ||
      trim(regexp_replace(line, '^[ >-]*| on .*\$', '', 'g')); END IF;
  END LOOP;
  RETURN scans;
END \$\$;
SQL
echo "# ruhnsw benchmark: n=$n dims=$dims queries=$queries m=$m ef_construction=$efc ($(date -u +%FT%TZ), $(nproc) cores)"
row() { printf '  %-30s %8s %10s\n' "$@"; }
for tab in uniform clustered; do
  start=$(date +%s.%N)
  psql -c "CREATE INDEX ${tab}_v ON $tab USING ruhnsw (v ruvector_l2_ops) WITH (m = $m, ef_construction = $efc)"
  end=$(date +%s.%N)
  size=$(psql -c "SELECT pg_size_pretty(pg_relation_size('${tab}_v'))")
  printf '%s: build %.1f s, index %s\n' "$tab" "$(echo "$end - $start" | bc)" "$size"
  row "search" "recall@10" "mean ms"
  read -r rec ms < <(psql -F ' ' -c "SELECT round(recall::numeric, 3), round(mean_ms::numeric, 2) FROM run('$tab', 'q_$tab', 'exact', 40, 'true')")
  row "exact (seq)" "$rec" "$ms"
  for ef in $efs; do
    read -r rec ms < <(psql -F ' ' -c "SELECT round(recall::numeric, 3), round(mean_ms::numeric, 2) FROM run('$tab', 'q_$tab', 'index', $ef, 'true')")
    row "ef_search $ef" "$rec" "$ms"
  done
  for pct in $filters; do
    cond="cat < $pct"
    read -r rec ms < <(psql -F ' ' -c "SELECT round(recall::numeric, 3), round(mean_ms::numeric, 2) FROM run('$tab', 'q_$tab', 'exact', 40, '$cond')")
    row "$pct %: exact ($(psql -c "SELECT plan_of('$tab', 'exact', '$cond')"))" "$rec" "$ms"
    for ef in $filter_efs; do
      read -r rec ms < <(psql -F ' ' -c "SELECT round(recall::numeric, 3), round(mean_ms::numeric, 2) FROM run('$tab', 'q_$tab', 'index', $ef, '$cond')")
      row "$pct %: index, ef_search $ef ($(psql -c "SELECT plan_of('$tab', 'index', '$cond')"))" "$rec" "$ms"
    done
  done
done
