#!/usr/bin/env bash
# The ruvector extension under hostile input, as superuser and as a plain
# login role: malformed text literals, hand-made binary COPY fields with
# truncated / lying lengths, bad casts, aggregate final functions called with
# forged states, hostile index options and query vectors, ruhnsw_check on
# another role's index, inserts / VACUUM / DROP from a second session while a
# scan's cursor is open. Every case must end in a clear ERROR or a right
# answer; the server must never crash. Attack list: docs/vector.md.
source "$(dirname "$0")/../../pg/t/lib.sh"
db=rv_vec_hostile
user=rv_hostile_plain
psql_db postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS $user" \
  -c "CREATE DATABASE $db" -c "CREATE ROLE $user LOGIN" >/dev/null
psql_db "$db" <<SQL >/dev/null
CREATE EXTENSION ruvector;
GRANT CREATE ON SCHEMA public TO $user;
CREATE TABLE owned (id serial, v ruvector(3));
INSERT INTO owned (v) SELECT random_vector(3, i) FROM generate_series(1, 300) i;
CREATE INDEX owned_v ON owned USING ruhnsw (v ruvector_l2_ops) WITH (m = 4, ef_construction = 8);
SQL
expect_error() {  # expect_error ROLE "SQL" "expected error message prefix"
  local got
  got=$(sql_error "$1" "$db" "$2")
  if [ -n "$got" ] && [[ $got == "$3"* ]]; then ok "$1: $2 -> ERROR"; else not_ok "$1: $2 (got '$got', expected '$3...')"; fi
}

# --- text input and casts, as both roles --------------------------------------------
for role in postgres "$user"; do
  expect_error "$role" "SELECT '['::ruvector" "invalid input syntax for type ruvector"
  expect_error "$role" "SELECT '[]'::ruvector" "ruvector must have at least 1 dimension"
  expect_error "$role" "SELECT '[1,'::ruvector" "invalid input syntax for type ruvector"
  expect_error "$role" "SELECT '[1,,2]'::ruvector" "invalid input syntax for type ruvector"
  expect_error "$role" "SELECT '[1e309]'::ruvector" "\"1e309\" is out of range for type ruvector"
  expect_error "$role" "SELECT '[nan]'::ruvector" "NaN not allowed in ruvector"
  expect_error "$role" "SELECT '[-inf]'::ruvector" "infinite value not allowed in ruvector"
  expect_error "$role" "SELECT E'[1,\\u00a02]'::ruvector" "invalid input syntax for type ruvector"
  expect_error "$role" "SELECT ('[' || repeat('1', 100000) || ']')::ruvector" "\"1111"
  expect_error "$role" "SELECT ('[' || repeat('1,', 16000) || '1]')::ruvector" \
    "ruvector cannot have more than 16000 dimensions"
  expect_error "$role" "SELECT '[1]'::ruvector(-1)" "dimensions for type ruvector must be at least 1"
  expect_error "$role" "SELECT '[1]'::ruvector(2147483647)" "dimensions for type ruvector cannot exceed 16000"
  expect_error "$role" "SELECT '[1,2]'::ruvector <-> '[1,2,3]'" "different ruvector dimensions 2 and 3"
  expect_error "$role" "SELECT '{1,NULL}'::real[]::ruvector" "array must not contain nulls"
  expect_error "$role" "SELECT '{{1,2},{3,4}}'::real[]::ruvector" "array must be one-dimensional"
  expect_error "$role" "SELECT '{}'::float8[]::ruvector" "ruvector must have at least 1 dimension"
  expect_error "$role" "SELECT random_vector(-1, 1)" "ruvector must have at least 1 dimension"
  expect_error "$role" "SELECT random_vector(100000)" "ruvector cannot have more than 16000 dimensions"
  expect_error "$role" "SELECT avg(v) FROM (VALUES ('[1,2]'::ruvector), ('[1,2,3]')) t(v)" \
    "different ruvector dimensions 2 and 3"
  expect_error "$role" "SELECT sum(v) FROM (VALUES ('[3e38]'::ruvector), ('[3e38]')) t(v)" "value out of range"
  # The aggregates' final functions take any float8[]: a state of more than
  # 16,000 sums must not become a ruvector (its int16 dimension count wrapped).
  expect_error "$role" "SELECT ruvector_sum(array_fill(1::float8, ARRAY[40001]))" \
    "ruvector cannot have more than 16000 dimensions"
  expect_error "$role" "SELECT ruvector_avg(array_fill(1::float8, ARRAY[20001]))" \
    "ruvector cannot have more than 16000 dimensions"
  expect_error "$role" "SELECT ruvector_avg('{NaN,1}')" "ruvector aggregate: malformed state array (count NaN)"
  expect_error "$role" "SELECT ruvector_avg('{1,NaN}')" "NaN not allowed in ruvector"
  expect_error "$role" "SELECT ruvector_accum('{1,2,3}', '[1]')" "different ruvector dimensions 2 and 1"
  expect_error "$role" "SELECT ruvector_avg('{}')" "ruvector aggregate: malformed state array"
  expect_error "$role" "SELECT ruvector_sum('{{1,2}}')" "ruvector aggregate: malformed state array"
  expect_error "$role" "SELECT ruvector_combine('{1,2}', '{1,2,3}')" "different ruvector dimensions 1 and 2"
  expect_error "$role" "SELECT E'[\\u0661]'::ruvector" "invalid input syntax for type ruvector"
  expect_error "$role" "SELECT ('[' || repeat(',', 100000) || ']')::ruvector" "invalid input syntax for type ruvector"
  expect_error "$role" "SELECT '[1]'::ruvector(1, 2)" "invalid type modifier for ruvector"
  expect_error "$role" "SELECT random_vector(0, 1)" "ruvector must have at least 1 dimension"
done
check "a cast from an array with lower bound 2" "$(psql_as "$user" "$db" -c "SELECT '[2:3]={1,2}'::float8[]::ruvector")" "[1,2]"
check "avg of two vectors near float4's maximum" \
  "$(psql_as "$user" "$db" -c "SELECT avg(v) FROM (VALUES ('[3e38]'::ruvector), ('[3e38]')) t(v)")" "[3e+38]"
check "cosine distance of a zero vector is NaN" \
  "$(psql_as "$user" "$db" -c "SELECT cosine_distance('[0,0]', '[1,0]')")" NaN
check "random_vector(16000, minimum bigint seed)" \
  "$(psql_as "$user" "$db" -c "SELECT ruvector_dims(random_vector(16000, -9223372036854775808))")" 16000
check "avg over no rows is NULL" "$(psql_as "$user" "$db" -c "SELECT avg(v) IS NULL FROM (SELECT '[1]'::ruvector v WHERE false) s")" t

# --- binary input: hand-made COPY ... (FORMAT binary) fields ------------------------------
# copy_field NAME FIELD_LENGTH PAYLOAD: a one-row binary COPY file whose field
# claims FIELD_LENGTH bytes (PAYLOAD as printf escapes).
copy_field() {
  local f=$RV_WORK/$1.bin
  { printf 'PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0'; printf '\0\1'; printf "$(printf '\\%03o' \
      $(($2 >> 24 & 255)) $(($2 >> 16 & 255)) $(($2 >> 8 & 255)) $(($2 & 255)))"; printf "$3"; printf '\377\377'; } >"$f"
  echo "$f"
}
psql_as "$user" "$db" -c "CREATE TABLE bin (v ruvector)" >/dev/null
copy_error() {  # copy_error NAME FILE EXPECTED
  local got
  got=$(psql_as "$user" "$db" -c "COPY bin FROM STDIN (FORMAT binary)" <"$2" 2>&1 | sed -n 's/^.*ERROR:  //p' | head -1 || true)
  if [[ $got == "$3"* ]]; then ok "binary COPY: $1 -> ERROR"; else not_ok "binary COPY: $1 (got '$got', expected '$3...')"; fi
}
# A float4 1.0 is 3f 80 00 00.
check "binary COPY: a well-formed 2-dimension field loads" \
  "$(psql_as "$user" "$db" -c "COPY bin FROM STDIN (FORMAT binary)" -c "SELECT v::text FROM bin" \
     <"$(copy_field good 12 '\0\2\0\0\77\200\0\0\77\200\0\0')")" "[1,1]"
copy_error "data shorter than the dimension count" "$(copy_field short 8 '\0\2\0\0\77\200\0\0')" \
  "invalid binary ruvector: 4 bytes of data for 2 dimensions"
copy_error "data longer than the dimension count" "$(copy_field long 16 '\0\1\0\0\77\200\0\0\77\200\0\0\0\0\0\0')" \
  "invalid binary ruvector: 12 bytes of data for 1 dimensions"
copy_error "header cut off" "$(copy_field cut 2 '\0\2')" "insufficient data left in message"
copy_error "field length beyond the file" "$(copy_field lying 1000 '\0\1\0\0\77\200\0\0')" "unexpected EOF in COPY data"
copy_error "negative dimension count" "$(copy_field negative 8 '\377\377\0\0\77\200\0\0')" \
  "ruvector must have at least 1 dimension"
copy_error "zero dimensions" "$(copy_field zero 4 '\0\0\0\0')" "ruvector must have at least 1 dimension"
copy_error "non-zero reserved field" "$(copy_field reserved 8 '\0\1\0\7\77\200\0\0')" \
  "invalid binary ruvector: reserved field is 7"
copy_error "NaN bits" "$(copy_field nan 8 '\0\1\0\0\177\300\0\0')" "NaN not allowed in ruvector"
copy_error "infinity bits" "$(copy_field inf 8 '\0\1\0\0\377\200\0\0')" "infinite value not allowed in ruvector"
copy_error "32,767 dimensions claimed" "$(copy_field huge 8 '\177\377\0\0\77\200\0\0')" \
  "ruvector cannot have more than 16000 dimensions"
check "binary COPY: only the good row was loaded" "$(psql_as "$user" "$db" -c "SELECT count(*) FROM bin")" 1

# --- index: options, query vectors, settings -------------------------------------------
psql_as "$user" "$db" -c "CREATE TABLE mine (id serial, v ruvector(3))" \
  -c "INSERT INTO mine (v) SELECT random_vector(3, i) FROM generate_series(1, 200) i" \
  -c "INSERT INTO mine (v) SELECT '[0,0,0]' FROM generate_series(1, 50)" \
  -c "INSERT INTO mine (v) SELECT '[0.5,0.5,0.5]' FROM generate_series(1, 50)" >/dev/null
create_error() {  # create_error "WITH options" "expected error"
  expect_error "$user" "CREATE INDEX ON mine USING ruhnsw (v ruvector_l2_ops) WITH ($1)" "$2"
}
create_error "m = 0" "value 0 out of bounds for option \"m\""
create_error "ef_construction = 100000" "value 100000 out of bounds for option \"ef_construction\""
create_error "m = 'x'" "invalid value for integer option \"m\": x"
create_error "foo = 1" "unrecognized parameter \"foo\""
expect_error "$user" "CREATE INDEX ON mine USING ruhnsw (v)" "data type ruvector has no default operator class"
expect_error "$user" "CREATE INDEX ON mine USING ruhnsw (v ruvector_l2_ops) WITH (m = 1)" \
  "value 1 out of bounds for option \"m\""
expect_error "$user" "CREATE INDEX ON mine USING ruhnsw (v ruvector_l2_ops) WITH (m = 10000)" \
  "value 10000 out of bounds for option \"m\""
expect_error "$user" "CREATE INDEX ON mine USING ruhnsw (v ruvector_l2_ops) WITH (ef_construction = 0)" \
  "value 0 out of bounds for option \"ef_construction\""
expect_error "$user" "CREATE INDEX ON mine USING ruhnsw (v ruvector_l2_ops) WITH (m = 100, ef_construction = 4)" \
  "ef_construction must be at least 2 * m"
expect_error "$user" "CREATE TABLE untyped (v ruvector); CREATE INDEX ON untyped USING ruhnsw (v ruvector_l2_ops)" \
  "column does not have dimensions"
expect_error "$user" "CREATE TABLE wide (v ruvector(2001)); CREATE INDEX ON wide USING ruhnsw (v ruvector_l2_ops)" \
  "column cannot have more than 2000 dimensions for ruhnsw index"
expect_error "$user" "CREATE TABLE w1990 (v ruvector(1990)); CREATE INDEX ON w1990 USING ruhnsw (v ruvector_l2_ops)" \
  "an element of 1990 dimensions with m = 16 does not fit an index page"
check "avg and sum over 3,000 vectors of 16,000 dimensions" \
  "$(psql_as "$user" "$db" -c "SELECT ruvector_dims(avg(random_vector(16000, i))) + ruvector_dims(sum(random_vector(16000, i)))
     FROM generate_series(1, 3000) i")" 32000
expect_error "$user" "SELECT '[1]'::ruvector; SET ruvector.hnsw_ef_search = 0" "0 is outside the valid range"
expect_error "$user" "SELECT '[1]'::ruvector; SET ruvector.hnsw_ef_search = 1001" "1001 is outside the valid range"
psql_as "$user" "$db" -c "CREATE INDEX mine_l2 ON mine USING ruhnsw (v ruvector_l2_ops) WITH (m = 2, ef_construction = 4)" \
  -c "CREATE INDEX mine_cos ON mine USING ruhnsw (v ruvector_cosine_ops) WITH (m = 100, ef_construction = 1000)" \
  -c "CREATE INDEX mine_ip ON mine USING ruhnsw (v ruvector_ip_ops)" >/dev/null
check "zero and duplicate vectors: every index checks (cosine skips the 50 zeros)" \
  "$(psql_as "$user" "$db" -c "SELECT ruhnsw_check('mine_l2') || ' ' || ruhnsw_check('mine_cos') || ' ' || ruhnsw_check('mine_ip')")" \
  "300 250 300"
expect_error "$user" "SET enable_seqscan = off; SELECT id FROM mine ORDER BY v <-> '[1,2]' LIMIT 3" \
  "different ruvector dimensions 3 and 2"
check "ef_search 1: an index scan returns one row" \
  "$(psql_as "$user" "$db" -c "SET enable_seqscan = off" -c "SET ruvector.hnsw_ef_search = 1" \
     -c "SELECT count(*) FROM (SELECT id FROM mine ORDER BY v <-> '[0,0,0]' LIMIT 10) s")" 1
check "ORDER BY v <-> NULL through the index" \
  "$(psql_as "$user" "$db" -c "SET enable_seqscan = off" -c "SELECT count(*) FROM (SELECT id FROM mine ORDER BY v <-> NULL LIMIT 5) s")" 5
check "cosine index: a zero query vector returns rows" \
  "$(psql_as "$user" "$db" -c "SET enable_seqscan = off" -c "SELECT count(*) FROM (SELECT id FROM mine ORDER BY v <=> '[0,0,0]' LIMIT 5) s")" 5

# Vectors whose float distances would overflow: refused by the L2 and
# inner-product opclasses (they were returned in the wrong order).
psql_as "$user" "$db" -c "CREATE TABLE huge (id int, v ruvector(2))" \
  -c "INSERT INTO huge VALUES (1, '[4e18,4e18]'), (2, '[-4e18,-4e18]'), (3, '[1,1]'), (4, '[2e18,-2e18]'), (5, '[-1e18,3e18]')" \
  -c "CREATE INDEX huge_l2 ON huge USING ruhnsw (v ruvector_l2_ops)" -c "CREATE INDEX huge_ip ON huge USING ruhnsw (v ruvector_ip_ops)" >/dev/null
for op in '<->' '<#>'; do
  order() {  # order SCAN_SETTING QUERY
    psql_as "$user" "$db" -c "SET $1 = off" -c "SELECT string_agg(id::text, ',') FROM (SELECT id FROM huge ORDER BY v $op '$2' LIMIT 5) s"
  }
  check "norm near the limit: index order of $op equals the exact order" \
    "$(order enable_seqscan '[-4e18,-4e18]')" "$(order enable_indexscan '[-4e18,-4e18]')"
done
expect_error "$user" "INSERT INTO huge VALUES (6, '[1e19,1e19]')" "ruvector of norm 1.41421e+19 is too large for a ruhnsw index"
expect_error "$user" "SET enable_seqscan = off; SELECT id FROM huge ORDER BY v <#> '[3e38,3e38]' LIMIT 1" \
  "ruvector of norm 4.24264e+38 is too large for a ruhnsw index"
psql_as "$user" "$db" -c "DROP INDEX huge_l2, huge_ip" -c "INSERT INTO huge VALUES (6, '[3e38,-3e38]')" >/dev/null
expect_error "$user" "CREATE INDEX ON huge USING ruhnsw (v ruvector_l2_ops)" "ruvector of norm 4.24264e+38 is too large"
check "cosine index takes vectors of any norm" \
  "$(psql_as "$user" "$db" -c "CREATE INDEX huge_cos ON huge USING ruhnsw (v ruvector_cosine_ops)" -c "SELECT ruhnsw_check('huge_cos')")" 6

# --- permissions -------------------------------------------------------------------
expect_error "$user" "SELECT ruhnsw_check('owned_v')" "must be owner of index owned_v"
expect_error "$user" "SELECT ruhnsw_check('owned')" "\"owned\" is not a ruhnsw index"
expect_error "$user" "SELECT ruhnsw_check('pg_class_oid_index')" "\"pg_class_oid_index\" is not a ruhnsw index"
expect_error "$user" "SELECT ruhnsw_check(0)" "could not open relation with OID 0"

# --- a second session while a scan's cursor is open -------------------------------------
# psql's \! runs the other session synchronously, inside this one's transaction.
second="$RV_BINDIR/psql -X -q -h $RV_HOST -p $RV_PORT -U $user -d $db -At"
# The deleted rows are dead to every snapshot, so the VACUUM under the open
# scan removes their elements and the inserts after it may reuse the slots.
psql_as "$user" "$db" -c "DELETE FROM mine WHERE id % 3 = 0" >/dev/null
out=$(psql_as "$user" "$db" <<SQL 2>&1
SET enable_seqscan = off;
SET ruvector.hnsw_ef_search = 100;
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM mine ORDER BY v <-> '[0.2,0.2,0.2]';
FETCH 10 FROM c;
\! $second -c "VACUUM mine" -c "INSERT INTO mine (v) SELECT random_vector(3, 1000 + i) FROM generate_series(1, 300) i" -c "SELECT 'vacuumed'"
\! for s in 1 2; do $second -c "INSERT INTO mine (v) SELECT random_vector(3, \$s * 10000 + i) FROM generate_series(1, 200) i" & done; wait
\! $second -c "SET lock_timeout = '500ms'" -c "DROP TABLE mine" 2>&1 | sed -n 's/^.*ERROR:  /drop: /p'
\! $second -c "SET lock_timeout = '500ms'" -c "REINDEX INDEX mine_l2" 2>&1 | sed -n 's/^.*ERROR:  /reindex: /p'
FETCH ALL FROM c;
SELECT 'finished';
COMMIT;
SQL
)
check "open scan: VACUUM and inserts in other sessions complete" "$(echo "$out" | grep -c '^vacuumed$')" 1
check "open scan: DROP TABLE from another session waits for the scan" \
  "$(echo "$out" | grep -c '^drop: canceling statement due to lock timeout')" 1
check "open scan: REINDEX from another session waits for the scan" \
  "$(echo "$out" | grep -c '^reindex: canceling statement due to lock timeout')" 1
if echo "$out" | grep -q '^finished$'; then ok "open scan: the cursor finishes after VACUUM"; else
  not_ok "open scan: the cursor finishes after VACUUM ($out)"; fi
check "open scan: no row returned twice" "$(echo "$out" | grep -E '^[0-9]+$' | sort | uniq -d | wc -l)" 0
check "open scan: no row deleted before the scan returned" \
  "$(echo "$out" | grep -E '^[0-9]+$' | awk '$1 % 3 == 0' | wc -l)" 0
live=$(psql_as "$user" "$db" -c "SELECT count(*) FROM mine")
check "after VACUUM under an open scan: l2 index checks, one element per row" \
  "$(psql_as "$user" "$db" -c "SELECT ruhnsw_check('mine_l2')")" "$live"
psql_as "$user" "$db" -c "REINDEX TABLE mine" >/dev/null
check "REINDEX by the owner, then the check" "$(psql_as "$user" "$db" -c "SELECT ruhnsw_check('mine_ip')")" "$live"
check "dropping the table after the scan" "$(psql_as "$user" "$db" -c "DROP TABLE mine" -c "SELECT 'dropped'")" dropped

check "server log has no crash" "$(grep -c 'terminated by signal' "$RV_LOG" || true)" \
  "$(grep -c 'terminated by signal 9' "$RV_LOG" || true)"
psql_db postgres -c "DROP DATABASE $db" -c "DROP ROLE $user" >/dev/null
done_testing
