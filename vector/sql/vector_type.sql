-- The ruvector type, operators, functions, aggregates and casts; hostile
-- input is tried as an unprivileged role.
CREATE EXTENSION ruvector;
CREATE ROLE rv_vector_user;
CREATE SCHEMA rv AUTHORIZATION rv_vector_user;
SET ROLE rv_vector_user;
SET search_path = rv, public;

-- Text I/O (pgvector's format) and typmod.
SELECT '[1,2,3]'::ruvector, '[ 1.5 , -2e-3,3 ]'::ruvector(3), '[0.1,1e-30,123456.79]'::ruvector;
SELECT '[1,2,3]'::ruvector::text = '[1,2,3]' AS round_trip;
SELECT ruvector_dims(('[' || repeat('0.5,', 15999) || '1]')::ruvector) AS max_dims;
CREATE TABLE v3 (id int, v ruvector(3));
INSERT INTO v3 VALUES (1, '[1,2,3]'), (2, '[0,0,0]'), (3, NULL);
SELECT * FROM v3 ORDER BY id;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'v3'::regclass AND attname = 'v';

-- Hostile input: every one is a clear ERROR.
\set VERBOSITY terse
SELECT '[]'::ruvector;
SELECT ''::ruvector;
SELECT '   '::ruvector;
SELECT '[1,NaN]'::ruvector;
SELECT '[nan]'::ruvector;
SELECT '[1,inf]'::ruvector;
SELECT '[-Infinity]'::ruvector;
SELECT '[1e39]'::ruvector;
SELECT '[1,2'::ruvector;
SELECT '1,2]'::ruvector;
SELECT '[1,,2]'::ruvector;
SELECT '[,1]'::ruvector;
SELECT '[1,]'::ruvector;
SELECT '[1 2]'::ruvector;
SELECT '[1,2]x'::ruvector;
SELECT '[1,2]]'::ruvector;
SELECT '[[1,2]]'::ruvector;
SELECT '[0x]'::ruvector;
SELECT '[1,a]'::ruvector;
SELECT ('[' || repeat('1,', 16000) || '1]')::ruvector;
SELECT ('[' || repeat('1,', 100000) || '1]')::ruvector;
SELECT '[1,2]'::ruvector(3);
INSERT INTO v3 VALUES (4, '[1,2]');
INSERT INTO v3 VALUES (4, '[1,2,3,4]');
SELECT '[1]'::ruvector(0);
SELECT '[1]'::ruvector(16001);
SELECT '[1]'::ruvector(1, 2);
SELECT '[1]'::ruvector('a');
\set VERBOSITY default

-- Binary wire format (pgvector's: int16 dims, int16 0, float4s big-endian).
SELECT ruvector_send('[1,-2.5,3]') AS wire;

-- Casts from arrays.
SELECT ARRAY[1, 2, 3]::real[]::ruvector, ARRAY[1.5, 2]::float8[]::ruvector(2), '[1,2]'::ruvector::real[];
\set VERBOSITY terse
SELECT '{1,NaN}'::real[]::ruvector;
SELECT '{1,Infinity}'::float8[]::ruvector;
SELECT '{1e300}'::float8[]::ruvector;
SELECT '{1,2}'::float8[]::ruvector(3);
SELECT '{{1,2},{3,4}}'::real[]::ruvector;
SELECT '{1,NULL}'::real[]::ruvector;
SELECT '{}'::real[]::ruvector;
\set VERBOSITY default

-- Operators and functions.
SELECT '[1,2]'::ruvector <-> '[4,6]' AS l2, '[1,0]'::ruvector <=> '[0,1]' AS cosine,
       '[1,2]'::ruvector <#> '[3,4]' AS neg_ip;
SELECT l2_distance('[1,2]', '[4,6]'), cosine_distance('[1,1]', '[2,2]'), cosine_distance('[1,0]', '[-1,0]'),
       inner_product('[1,2]', '[3,4]'), ruvector_norm('[3,4]'), ruvector_dims('[1,2,3]');
SELECT cosine_distance('[0,0]', '[1,1]') AS cosine_with_zero_vector;
SELECT '[1,2]'::ruvector + '[3,4]', '[1,2]'::ruvector - '[1,1]', '[1,2]'::ruvector * 2.5;
SELECT random_vector(4, 42) AS seeded, random_vector(4, 42)::text = random_vector(4, 42)::text AS same_seed_same_vector,
       random_vector(4, 42)::text <> random_vector(4, 43)::text AS other_seed_other_vector;
SELECT ruvector_dims(random_vector(5)), ruvector_norm(random_vector(8)) BETWEEN 0 AND 3 AS in_unit_cube;
\set VERBOSITY terse
SELECT '[1,2]'::ruvector <-> '[4,6,7]';
SELECT cosine_distance('[1,2]', '[1]');
SELECT inner_product('[1]', '[1,2]');
SELECT random_vector(0);
SELECT random_vector(16001, 1);
SELECT '[3e38]'::ruvector + '[3e38]';
SELECT '[1]'::ruvector * 'NaN'::float8;
SELECT '[1]'::ruvector * 1e300;
\set VERBOSITY default

-- Aggregates.
SELECT avg(v), sum(v) FROM (VALUES ('[1,2]'::ruvector), ('[3,4]'), (NULL)) t(v);
SELECT avg(v) IS NULL AS empty_avg, sum(v) IS NULL AS empty_sum FROM (SELECT '[1]'::ruvector WHERE false) t(v);
SELECT avg(random_vector(3, g)) FROM generate_series(1, 1000) g;
\set VERBOSITY terse
SELECT avg(v) FROM (VALUES ('[1,2]'::ruvector), ('[3,4,5]')) t(v);
SELECT sum(v) FROM (VALUES ('[3e38]'::ruvector), ('[3e38]')) t(v);
\set VERBOSITY default

RESET ROLE;
-- Binary send/recv round trip through a file in the data directory
-- (superuser: server file access).
SELECT current_setting('data_directory') || '/ruvector_regress_v3.bin' AS binfile \gset
COPY rv.v3 TO :'binfile' WITH (FORMAT binary);
CREATE TABLE rv.v3_copy (LIKE rv.v3);
COPY rv.v3_copy FROM :'binfile' WITH (FORMAT binary);
SELECT a.id, a.v::text = b.v::text AS same FROM rv.v3 a JOIN rv.v3_copy b USING (id) ORDER BY a.id;
DROP SCHEMA rv CASCADE;
DROP ROLE rv_vector_user;
DROP EXTENSION ruvector;
