-- The test page's weekly failure-rate trend reads one test's results of the
-- last weeks by the time they were recorded, with what it counts: an
-- index-only scan of those results alone, however long the test's history
-- (test_results_test_cover_idx is keyed by id, so a time window had to read
-- the test's whole history and every run of the window to find its start).
CREATE INDEX test_results_test_time_idx ON test_results (test_id, created_at) INCLUDE (run_id, outcome);
