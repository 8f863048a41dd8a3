-- The runs list marks a run flaky when a failing test of it passed on a
-- later attempt (store.TestsPassedOnRetry), which looks for a pass of one
-- test in one run. Keyed by run alone, that read every result of the run
-- from the table, one page each when a run's results are spread over time;
-- keyed by run and test with the attempt and outcome, it is one index-only
-- probe (backend CPU for a page of 50 failed runs: 3.0 -> 0.2 ms). It
-- replaces test_results_run_idx: the run's results (run page, analysis,
-- deletes cascading from runs) still use its leading column.
CREATE INDEX test_results_run_test_idx ON test_results (run_id, test_id) INCLUDE (attempt, outcome);
DROP INDEX test_results_run_idx;
