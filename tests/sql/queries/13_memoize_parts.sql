-- Memoize in front of a parameterized index scan: the outer side repeats
-- l_partkey values (skew), so cached lookups pay off.
SET enable_hashjoin = off;
SET enable_mergejoin = off;
-- expect: Memoize, Nested Loop, Index Scan
SELECT p.p_brand, count(*) AS lines, sum(l.l_extendedprice) AS value
FROM lineitem l
JOIN part p ON p.p_partkey = l.l_partkey
WHERE l.l_shipdate BETWEEN date '1995-01-01' AND date '1995-01-31'
GROUP BY p.p_brand
ORDER BY value DESC;
