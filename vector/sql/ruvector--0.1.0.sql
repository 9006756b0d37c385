-- ruvector 0.1.0: the ruvector type, its operators, functions, aggregates
-- and the ruhnsw index access method. Reference: docs/vector.md.
\echo Use "CREATE EXTENSION ruvector" to load this file. \quit

-- Type --------------------------------------------------------------------------

CREATE TYPE ruvector;

CREATE FUNCTION ruvector_in(cstring, oid, integer) RETURNS ruvector
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_out(ruvector) RETURNS cstring
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_typmod_in(cstring[]) RETURNS integer
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_recv(internal, oid, integer) RETURNS ruvector
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_send(ruvector) RETURNS bytea
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE ruvector (
  INPUT = ruvector_in,
  OUTPUT = ruvector_out,
  TYPMOD_IN = ruvector_typmod_in,
  RECEIVE = ruvector_recv,
  SEND = ruvector_send,
  STORAGE = external
);

-- Casts -------------------------------------------------------------------------

CREATE FUNCTION ruvector(ruvector, integer, boolean) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_coerce' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_from_real_array(real[], integer, boolean) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_from_float4_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_from_float8_array(double precision[], integer, boolean) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_from_float8_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_to_real_array(ruvector, integer, boolean) RETURNS real[]
  AS 'MODULE_PATHNAME', 'ruvector_to_float4_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (ruvector AS ruvector) WITH FUNCTION ruvector(ruvector, integer, boolean) AS IMPLICIT;
CREATE CAST (real[] AS ruvector) WITH FUNCTION ruvector_from_real_array(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS ruvector)
  WITH FUNCTION ruvector_from_float8_array(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (ruvector AS real[]) WITH FUNCTION ruvector_to_real_array(ruvector, integer, boolean) AS ASSIGNMENT;

-- Functions ---------------------------------------------------------------------

CREATE FUNCTION l2_distance(ruvector, ruvector) RETURNS double precision
  AS 'MODULE_PATHNAME', 'ruvector_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cosine_distance(ruvector, ruvector) RETURNS double precision
  AS 'MODULE_PATHNAME', 'ruvector_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION inner_product(ruvector, ruvector) RETURNS double precision
  AS 'MODULE_PATHNAME', 'ruvector_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_negative_inner_product(ruvector, ruvector) RETURNS double precision
  AS 'MODULE_PATHNAME', 'ruvector_negative_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_dims(ruvector) RETURNS integer
  AS 'MODULE_PATHNAME', 'ruvector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_norm(ruvector) RETURNS double precision
  AS 'MODULE_PATHNAME', 'ruvector_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_add(ruvector, ruvector) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_add' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_sub(ruvector, ruvector) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_sub' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_scale(ruvector, double precision) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_scale' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION random_vector(integer) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_random' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION random_vector(integer, bigint) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_random_seeded' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Operators ---------------------------------------------------------------------

CREATE OPERATOR <-> (LEFTARG = ruvector, RIGHTARG = ruvector, FUNCTION = l2_distance, COMMUTATOR = '<->');
CREATE OPERATOR <=> (LEFTARG = ruvector, RIGHTARG = ruvector, FUNCTION = cosine_distance, COMMUTATOR = '<=>');
CREATE OPERATOR <#> (LEFTARG = ruvector, RIGHTARG = ruvector, FUNCTION = ruvector_negative_inner_product,
                     COMMUTATOR = '<#>');
CREATE OPERATOR + (LEFTARG = ruvector, RIGHTARG = ruvector, FUNCTION = ruvector_add, COMMUTATOR = +);
CREATE OPERATOR - (LEFTARG = ruvector, RIGHTARG = ruvector, FUNCTION = ruvector_sub);
CREATE OPERATOR * (LEFTARG = ruvector, RIGHTARG = double precision, FUNCTION = ruvector_scale);

-- Aggregates --------------------------------------------------------------------

CREATE FUNCTION ruvector_accum(double precision[], ruvector) RETURNS double precision[]
  AS 'MODULE_PATHNAME', 'ruvector_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_combine(double precision[], double precision[]) RETURNS double precision[]
  AS 'MODULE_PATHNAME', 'ruvector_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_avg(double precision[]) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_avg' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_sum(double precision[]) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_sum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE avg(ruvector) (
  SFUNC = ruvector_accum, STYPE = double precision[], FINALFUNC = ruvector_avg,
  COMBINEFUNC = ruvector_combine, INITCOND = '{0}', PARALLEL = SAFE
);
CREATE AGGREGATE sum(ruvector) (
  SFUNC = ruvector_accum, STYPE = double precision[], FINALFUNC = ruvector_sum,
  COMBINEFUNC = ruvector_combine, INITCOND = '{0}', PARALLEL = SAFE
);

-- Index access method -----------------------------------------------------------

CREATE FUNCTION ruhnsw_handler(internal) RETURNS index_am_handler
  AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE ACCESS METHOD ruhnsw TYPE INDEX HANDLER ruhnsw_handler;
COMMENT ON ACCESS METHOD ruhnsw IS 'HNSW graph index for ruvector (ORDER BY distance LIMIT k)';

CREATE OPERATOR CLASS ruvector_l2_ops FOR TYPE ruvector USING ruhnsw AS
  OPERATOR 1 <-> (ruvector, ruvector) FOR ORDER BY float_ops,
  FUNCTION 1 l2_distance(ruvector, ruvector);
CREATE OPERATOR CLASS ruvector_cosine_ops FOR TYPE ruvector USING ruhnsw AS
  OPERATOR 1 <=> (ruvector, ruvector) FOR ORDER BY float_ops,
  FUNCTION 1 cosine_distance(ruvector, ruvector);
CREATE OPERATOR CLASS ruvector_ip_ops FOR TYPE ruvector USING ruhnsw AS
  OPERATOR 1 <#> (ruvector, ruvector) FOR ORDER BY float_ops,
  FUNCTION 1 ruvector_negative_inner_product(ruvector, ruvector);

CREATE FUNCTION ruhnsw_check(regclass) RETURNS bigint
  AS 'MODULE_PATHNAME' LANGUAGE C STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION ruhnsw_check(regclass) IS
  'Verifies the graph of a ruhnsw index (links, sizes, entry point); returns its element count';
