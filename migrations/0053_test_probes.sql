-- Confirmation re-runs: a test that failed, neither known flaky nor broken,
-- is re-run alone at the same commit to say which it is. One row per test
-- and failing run; its state says how far it got and its verdict what the
-- re-runs said. seconds is what the re-runs cost, counted against the
-- repository's daily budget.
CREATE TABLE test_probes (
    id            bigserial PRIMARY KEY,
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    test_id       bigint NOT NULL REFERENCES tests (id) ON DELETE CASCADE,
    run_id        bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    sha           text NOT NULL,
    step_position integer NOT NULL,
    step_name     text NOT NULL,
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'done', 'skipped')),
    wanted        integer NOT NULL CHECK (wanted > 0),
    runs          integer NOT NULL DEFAULT 0, -- re-runs that reported the test
    failures      integer NOT NULL DEFAULT 0,
    verdict       text NOT NULL DEFAULT '' CHECK (verdict IN ('', 'flaky', 'broken')),
    message       text NOT NULL DEFAULT '', -- the verdict for people, or why there is none
    seconds       double precision NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    UNIQUE (test_id, run_id)
);
-- A run's probes (the worker, the check run) and the budget's sum over a
-- repository's last day.
CREATE INDEX test_probes_run_idx ON test_probes (run_id);
CREATE INDEX test_probes_repository_idx ON test_probes (repository_id, created_at);

-- What .sentinel.yml's flaky: says about confirmation (default branch only):
-- re-runs per failed test (0: none) and whether pull requests get them.
ALTER TABLE repository_policies
    ADD COLUMN confirm_runs integer NOT NULL DEFAULT 10 CHECK (confirm_runs >= 0),
    ADD COLUMN confirm_pull_requests boolean NOT NULL DEFAULT false;
