-- TPC-H Q5: six-way join through nation and region.
-- expect: Hash Join, Aggregate, Sort
SELECT n.n_name, sum(l.l_extendedprice * (1 - l.l_discount)) AS revenue
FROM customer c, orders o, lineitem l, supplier s, nation n, region r
WHERE c.c_custkey = o.o_custkey
  AND l.l_orderkey = o.o_orderkey
  AND l.l_suppkey = s.s_suppkey
  AND c.c_nationkey = s.s_nationkey
  AND s.s_nationkey = n.n_nationkey
  AND n.n_regionkey = r.r_regionkey
  AND r.r_name = 'ASIA'
  AND o.o_orderdate >= date '1994-01-01'
  AND o.o_orderdate < date '1994-01-01' + interval '1 year'
GROUP BY n.n_name
ORDER BY revenue DESC;
