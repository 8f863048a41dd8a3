-- GET /api/flaky lists every test in ListTests' order (the flaky, quarantined
-- and broken first, then by score): with this index it reads the first
-- tests in that order instead of sorting the whole table's wide rows,
-- which at a few thousand tests was most of the request's database time.
CREATE INDEX tests_list_idx ON tests ((state IN ('flaky', 'quarantined', 'broken')) DESC, score DESC, id);
