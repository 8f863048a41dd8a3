-- The test page's weekly failure-rate trend reads one test's results of the
-- last weeks by the time they were recorded, with what it counts: an
-- index-only scan of those results alone, however long the test's history
-- (test_results_test_cover_idx is keyed by id, so a time window had to read
-- the test's whole history and every run of the window to find its start).
CREATE INDEX test_results_test_time_idx ON test_results (test_id, created_at) INCLUDE (run_id, outcome);

-- The runs list marks a run flaky when a test in it failed, then passed on a
-- retry or re-run (store.TestsPassedOnRetry): it starts from the failing
-- results of the runs on the page and of their earlier attempts. Failing
-- results are few, so this index is small, and finding them no longer reads
-- every result of every run listed.
CREATE INDEX test_results_failing_idx ON test_results (run_id) INCLUDE (test_id, attempt) WHERE outcome IN ('fail', 'error');
