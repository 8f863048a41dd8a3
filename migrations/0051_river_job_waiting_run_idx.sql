-- A push that supersedes a run cancels the run's waiting River jobs in the
-- statement that supersedes it (store.SupersedeRunsBatch), finding them by
-- the run id in their args: the intake no longer records runs.job_id with a
-- second write to every new run (the worker records it when the run starts,
-- which is when River is needed to stop it). Only waiting jobs of the two
-- kinds are indexed, so a job gets one entry, on insert, however many times
-- River updates it afterwards.
CREATE INDEX river_job_waiting_run_idx ON river_job ((args->>'run_id'))
    WHERE state IN ('available', 'scheduled', 'pending', 'retryable') AND kind IN ('run.execute', 'report.check');
