-- Extension creation and the fixtures the other tests use.
CREATE EXTENSION ruvector_dag CASCADE;
SELECT extname, extversion, nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'ruvector_dag';
SELECT proname FROM pg_proc WHERE pronamespace = 'ruvector'::regnamespace ORDER BY proname;

-- Small tables (fully sampled by ANALYZE, so plans are stable).
CREATE TABLE customers (id int PRIMARY KEY, region int NOT NULL, name text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers, amount numeric NOT NULL,
                     status int NOT NULL);
CREATE TABLE items (id int PRIMARY KEY, order_id int NOT NULL REFERENCES orders, qty int NOT NULL);
INSERT INTO customers SELECT g, g % 20, 'c' || g FROM generate_series(1, 2000) g;
INSERT INTO orders SELECT g, 1 + (g * 7) % 2000, (g % 100) + 0.5, g % 5 FROM generate_series(1, 10000) g;
INSERT INTO items SELECT g, 1 + (g * 13) % 10000, g % 4 FROM generate_series(1, 20000) g;
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX items_order ON items (order_id);
ANALYZE customers, orders, items;

-- Counts nodes and sums EXPLAIN's own numbers, for comparisons.
CREATE FUNCTION explain_json(q text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE j json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;
  RETURN j::jsonb;
END $$;
