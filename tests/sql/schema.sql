-- A TPC-H-like schema for EXPLAIN fixtures and the live EXPLAIN test.
-- Data: tests/sql/data.sql. No foreign keys: they would cost most of the load
-- time (a trigger per row) and would sharpen join estimates. Autovacuum is off
-- for these tables so that the statistics come only from the explicit ANALYZE
-- in data.sql (reproducible).
DROP TABLE IF EXISTS lineitem, orders, partsupp, part, customer, supplier, nation, region CASCADE;

CREATE TABLE region (
  r_regionkey integer PRIMARY KEY,
  r_name      text NOT NULL,
  r_comment   text
) WITH (autovacuum_enabled = false);

CREATE TABLE nation (
  n_nationkey integer PRIMARY KEY,
  n_name      text NOT NULL,
  n_regionkey integer NOT NULL,
  n_comment   text
) WITH (autovacuum_enabled = false);

CREATE TABLE supplier (
  s_suppkey   integer PRIMARY KEY,
  s_name      text NOT NULL,
  s_nationkey integer NOT NULL,
  s_acctbal   numeric(12, 2) NOT NULL,
  s_comment   text
) WITH (autovacuum_enabled = false);

CREATE TABLE customer (
  c_custkey    integer PRIMARY KEY,
  c_name       text NOT NULL,
  c_nationkey  integer NOT NULL,
  c_acctbal    numeric(12, 2) NOT NULL,
  c_mktsegment text NOT NULL,
  c_comment    text
) WITH (autovacuum_enabled = false);

CREATE TABLE part (
  p_partkey     integer PRIMARY KEY,
  p_name        text NOT NULL,
  p_mfgr        text NOT NULL,
  p_brand       text NOT NULL,
  p_type        text NOT NULL,
  p_size        integer NOT NULL,
  p_container   text NOT NULL,
  p_retailprice numeric(12, 2) NOT NULL
) WITH (autovacuum_enabled = false);

CREATE TABLE partsupp (
  ps_partkey    integer NOT NULL,
  ps_suppkey    integer NOT NULL,
  ps_availqty   integer NOT NULL,
  ps_supplycost numeric(12, 2) NOT NULL,
  PRIMARY KEY (ps_partkey, ps_suppkey)
) WITH (autovacuum_enabled = false);

CREATE TABLE orders (
  o_orderkey      integer PRIMARY KEY,
  o_custkey       integer NOT NULL,
  o_orderstatus   char(1) NOT NULL,
  o_totalprice    numeric(12, 2) NOT NULL,
  o_orderdate     date NOT NULL,
  o_orderpriority text NOT NULL,
  o_shippriority  integer NOT NULL
) WITH (autovacuum_enabled = false);

CREATE TABLE lineitem (
  l_orderkey      integer NOT NULL,
  l_linenumber    integer NOT NULL,
  l_partkey       integer NOT NULL,
  l_suppkey       integer NOT NULL,
  l_quantity      numeric(12, 2) NOT NULL,
  l_extendedprice numeric(12, 2) NOT NULL,
  l_discount      numeric(12, 2) NOT NULL,
  l_tax           numeric(12, 2) NOT NULL,
  l_returnflag    char(1) NOT NULL,
  l_linestatus    char(1) NOT NULL,
  l_shipdate      date NOT NULL,
  l_commitdate    date NOT NULL,
  l_receiptdate   date NOT NULL,
  l_shipmode      text NOT NULL,
  PRIMARY KEY (l_orderkey, l_linenumber)
) WITH (autovacuum_enabled = false);
