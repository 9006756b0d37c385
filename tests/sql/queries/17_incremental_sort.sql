-- Incremental sort on top of an index that provides the first sort key.
-- expect: Incremental Sort, Limit, Index Scan
SELECT o_orderkey, o_orderdate, o_totalprice
FROM orders
ORDER BY o_orderdate, o_totalprice DESC
LIMIT 50;
