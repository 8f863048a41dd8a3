-- Analysing a run rewrites the flaky state of each test it saw: its window,
-- score, rates and counts. The score was a key of two indexes
-- (tests_state_idx, tests_needs_look_idx), so every such update was a
-- non-HOT one: a new row version elsewhere plus a new entry in each of the
-- table's four indexes, for each of a suite's 5,000 tests. The score now
-- leaves the indexes: the readers that order by it (the flaky page, the
-- tests list) sort the few rows their filters select (the tests that need a
-- look, or one state of one repository), and CountTests reads
-- (repository_id, state) alone. The columns left in keys and predicates
-- (repository_id, package, name, state, episodes) rarely change in a run,
-- so the update of a test's row stays on its page (HOT) when the page has
-- room; fillfactor 50 leaves room for one new version of every row a page
-- holds, since one statement updates all of a suite's tests, and the
-- previous run's versions are pruned on the next visit. The table holds
-- one row per test, so doubling its pages is cheap next to test_results.
DROP INDEX tests_state_idx;
CREATE INDEX tests_repository_state_idx ON tests (repository_id, state);
DROP INDEX tests_needs_look_idx;
CREATE INDEX tests_needs_look_idx ON tests (repository_id)
    WHERE state IN ('flaky', 'quarantined') OR (state IN ('healthy', 'recovered') AND episodes > 0);
ALTER TABLE tests SET (fillfactor = 50);
