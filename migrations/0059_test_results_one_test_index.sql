-- Recording a run wrote each result into two indexes keyed by test: the
-- latest results of a test (test_results_test_cover_idx, by id) and its
-- results in a time window (test_results_test_time_idx, by created_at).
-- Both are inserted into at a random place, one leaf page per test, so a
-- run of 5,000 tests dirtied about 10,000 index pages (and as many full-page
-- images in the WAL after each checkpoint), the largest cost of recording
-- its results after the COPY itself. One index now serves both readers: a
-- test's results newest first by the time they were recorded (id breaks
-- ties within a transaction, whose rows share created_at), with what the
-- flaky page, the test page and the weekly trend read, index-only.
CREATE INDEX test_results_test_recent_idx ON test_results (test_id, created_at DESC, id DESC)
    INCLUDE (run_id, outcome, duration_ms);
DROP INDEX test_results_test_cover_idx;
DROP INDEX test_results_test_time_idx;
