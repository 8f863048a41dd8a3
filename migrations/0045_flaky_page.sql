-- The flaky tests page lists flaky, quarantined and suspect tests (healthy or
-- recovered with an intermittent failure in the window), not every test with
-- a score: a healthy test scores about 0.6 under the prior.
DROP INDEX IF EXISTS tests_flaky_score_idx;
CREATE INDEX tests_needs_look_idx ON tests (score DESC, id DESC)
    WHERE state IN ('flaky', 'quarantined') OR (state IN ('healthy', 'recovered') AND episodes > 0);

-- A test's latest results with what the flaky page (recent outcomes, impact)
-- and the test page (history) read, so that those are index-only scans: the
-- page of one test reads up to 500 results, the flaky page 200 for each of
-- its tests. It replaces test_results_test_idx, the same key without the
-- payload, so a result still updates one index per test.
CREATE INDEX test_results_test_cover_idx ON test_results (test_id, id DESC) INCLUDE (run_id, outcome, duration_ms);
DROP INDEX test_results_test_idx;
