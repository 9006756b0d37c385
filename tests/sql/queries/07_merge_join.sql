-- Merge join on the order key (hash and nested-loop joins disabled).
SET enable_hashjoin = off;
SET enable_nestloop = off;
-- expect: Merge Join, Aggregate
SELECT o.o_orderstatus, count(*) AS lines, sum(l.l_quantity) AS quantity
FROM orders o
JOIN lineitem l ON l.l_orderkey = o.o_orderkey
WHERE o.o_totalprice > 400000
GROUP BY o.o_orderstatus;
