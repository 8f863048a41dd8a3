-- A "Re-run failed" attempt re-runs only what failed in the attempt it
-- re-runs: failed_only_of names that run (NULL: a whole re-run or a first
-- attempt). The executor reads its steps and failing tests from there.
ALTER TABLE runs ADD COLUMN failed_only_of bigint REFERENCES runs (id) ON DELETE SET NULL;
-- Deleting a run (retention) looks up the runs that name it; few do.
CREATE INDEX runs_failed_only_of_idx ON runs (failed_only_of) WHERE failed_only_of IS NOT NULL;
