-- Deterministic data for tests/sql/schema.sql: a fixed setseed and one
-- session, so every run produces the same rows. Sized so that loading,
-- indexing and ANALYZE take a few seconds (about 240k lineitems).
--
-- Deliberate traps for the planner (estimates go wrong):
--   * skew: o_custkey ~ 15000 * u^3, l_partkey ~ 20000 * u^2.5, c_nationkey ~ 25 * u^1.5,
--     l_shipmode mostly 'TRUCK';
--   * correlated columns: c_mktsegment is a function of c_nationkey;
--     l_commitdate/l_shipdate/l_receiptdate all follow o_orderdate;
--     l_returnflag/l_linestatus follow the dates; p_container follows p_size;
--     p_brand refines p_mfgr; o_orderstatus follows o_orderdate.
SELECT setseed(0.4242);

INSERT INTO region
SELECT r, (ARRAY['AFRICA', 'AMERICA', 'ASIA', 'EUROPE', 'MIDDLE EAST'])[r + 1], 'region ' || r
FROM generate_series(0, 4) AS r;

INSERT INTO nation
SELECT n, name, region, 'nation ' || n
FROM unnest(ARRAY['ALGERIA', 'ARGENTINA', 'BRAZIL', 'CANADA', 'EGYPT', 'ETHIOPIA', 'FRANCE',
                  'GERMANY', 'INDIA', 'INDONESIA', 'IRAN', 'IRAQ', 'JAPAN', 'JORDAN', 'KENYA',
                  'MOROCCO', 'MOZAMBIQUE', 'PERU', 'CHINA', 'ROMANIA', 'SAUDI ARABIA', 'VIETNAM',
                  'RUSSIA', 'UNITED KINGDOM', 'UNITED STATES'],
            ARRAY[0, 1, 1, 1, 4, 0, 3, 3, 2, 2, 4, 4, 2, 4, 0, 0, 0, 1, 2, 3, 4, 2, 3, 3, 1])
     WITH ORDINALITY AS t(name, region, ord)
CROSS JOIN LATERAL (SELECT (ord - 1)::integer AS n) AS k;

INSERT INTO supplier
SELECT s, 'Supplier#' || lpad(s::text, 9, '0'), floor(random() * 25)::integer,
       round((random() * 10999 - 999)::numeric, 2), 'supplier ' || (s % 97)
FROM generate_series(1, 1000) AS s;

INSERT INTO customer
SELECT c, 'Customer#' || lpad(c::text, 9, '0'), nk,
       round((random() * 10999 - 999)::numeric, 2),
       (ARRAY['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'HOUSEHOLD', 'MACHINERY'])[nk % 5 + 1],
       'customer ' || (c % 101)
FROM (SELECT c, least(24, floor(25 * power(random(), 1.5)))::integer AS nk
      FROM generate_series(1, 15000) AS c OFFSET 0) AS s;

INSERT INTO part
SELECT p, 'part ' || p, 'Manufacturer#' || m, 'Brand#' || m || (1 + floor(random() * 5))::integer,
       (ARRAY['STANDARD', 'SMALL', 'MEDIUM', 'LARGE', 'ECONOMY', 'PROMO'])[1 + floor(random() * 6)::integer]
         || ' ' || (ARRAY['ANODIZED', 'BURNISHED', 'PLATED', 'POLISHED', 'BRUSHED'])[1 + floor(random() * 5)::integer]
         || ' ' || (ARRAY['TIN', 'NICKEL', 'BRASS', 'STEEL', 'COPPER'])[1 + floor(random() * 5)::integer],
       size,
       CASE WHEN size < 10 THEN 'SM ' WHEN size < 30 THEN 'MED ' ELSE 'LG ' END
         || (ARRAY['CASE', 'BOX', 'BAG', 'JAR', 'PKG', 'PACK', 'CAN', 'DRUM'])[1 + floor(random() * 8)::integer],
       round((900 + (p % 1000) + size * 0.5)::numeric, 2)
FROM (SELECT p, 1 + floor(random() * 5)::integer AS m, 1 + floor(random() * 50)::integer AS size
      FROM generate_series(1, 20000) AS p OFFSET 0) AS s;

-- Four suppliers per part (TPC-H's formula keeps the pairs unique).
INSERT INTO partsupp
SELECT p, (p + i * (250 + (p - 1) / 1000)) % 1000 + 1, 1 + floor(random() * 9999)::integer,
       round((1 + random() * 999)::numeric, 2)
FROM generate_series(1, 20000) AS p CROSS JOIN generate_series(0, 3) AS i;

INSERT INTO orders
SELECT o, 1 + least(14999, floor(15000 * power(random(), 3)))::integer,
       CASE WHEN d < date '1995-06-01' THEN 'F' WHEN d > date '1995-07-01' THEN 'O' ELSE 'P' END,
       round((1000 + random() * 450000)::numeric, 2), d,
       (ARRAY['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'])[1 + floor(random() * 5)::integer],
       0
FROM (SELECT o, date '1992-01-01' + floor(random() * 2400)::integer AS d
      FROM generate_series(1, 60000) AS o OFFSET 0) AS s;

-- 1..7 lines per order, chosen by a fixed hash of the order key.
INSERT INTO lineitem
SELECT l_orderkey, l_linenumber, l_partkey, (l_partkey + i * (250 + (l_partkey - 1) / 1000)) % 1000 + 1,
       qty, round(qty * (900 + l_partkey % 1000), 2), round((random() * 0.10)::numeric, 2),
       round((random() * 0.08)::numeric, 2),
       CASE WHEN receipt <= date '1995-06-17' THEN (CASE WHEN random() < 0.5 THEN 'R' ELSE 'A' END) ELSE 'N' END,
       CASE WHEN ship > date '1995-06-17' THEN 'O' ELSE 'F' END,
       ship, commit, receipt, mode
FROM (SELECT o.o_orderkey AS l_orderkey, n AS l_linenumber,
             1 + least(19999, floor(20000 * power(random(), 2.5)))::integer AS l_partkey,
             floor(random() * 4)::integer AS i,
             (1 + floor(random() * 50))::numeric AS qty,
             o.o_orderdate + 1 + floor(random() * 121)::integer AS ship,
             o.o_orderdate + 30 + floor(random() * 61)::integer AS commit,
             CASE WHEN random() < 0.6 THEN 'TRUCK'
                  ELSE (ARRAY['AIR', 'REG AIR', 'RAIL', 'SHIP', 'MAIL', 'FOB'])[1 + floor(random() * 6)::integer]
             END AS mode
      FROM orders AS o
      CROSS JOIN LATERAL generate_series(1, 1 + ((o.o_orderkey::bigint * 2654435761) % 7919 % 7)::integer) AS n
      ORDER BY o.o_orderkey, n OFFSET 0) AS s
CROSS JOIN LATERAL (SELECT s.ship + 1 + floor(random() * 30)::integer AS receipt) AS r;

CREATE INDEX orders_custkey_idx ON orders (o_custkey);
CREATE INDEX orders_orderdate_idx ON orders (o_orderdate);
CREATE INDEX lineitem_partkey_idx ON lineitem (l_partkey);
CREATE INDEX lineitem_shipdate_idx ON lineitem (l_shipdate);
CREATE INDEX customer_nationkey_idx ON customer (c_nationkey);
CREATE INDEX partsupp_suppkey_idx ON partsupp (ps_suppkey);

-- A statistics target whose sample covers every row makes ANALYZE
-- deterministic (no random sampling), so plans are reproducible.
SET default_statistics_target = 1000;
VACUUM (ANALYZE) region, nation, supplier, customer, part, partsupp, orders, lineitem;
RESET default_statistics_target;
