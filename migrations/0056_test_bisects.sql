-- Bisections: a test turned broken on the default branch with more than one
-- commit between the last run where it passed (good_sha) and the first where
-- it failed (bad_sha); it is re-run alone at midpoints of that range to name
-- the commit that broke it. commits is the range after good_sha up to and
-- including bad_sha, oldest first (first-parent history); tested and
-- outcomes the commits run so far and what each said (good, bad, skip), in
-- the order run. The verdict: found, first_bad_sha with its author and pull
-- request; or not found, the breakage between last_good_sha and
-- first_bad_sha. seconds counts against the repository's re-run budget with
-- the confirmation re-runs (test_probes).
CREATE TABLE test_bisects (
    id            bigserial PRIMARY KEY,
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    test_id       bigint NOT NULL REFERENCES tests (id) ON DELETE CASCADE,
    run_id        bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE, -- where it turned broken: the runtime's id
    step_position integer NOT NULL,
    step_name     text NOT NULL,
    good_sha      text NOT NULL,
    bad_sha       text NOT NULL,
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'done', 'skipped')),
    commits       text[] NOT NULL DEFAULT '{}',
    tested        text[] NOT NULL DEFAULT '{}',
    outcomes      text[] NOT NULL DEFAULT '{}',
    found         boolean NOT NULL DEFAULT false,
    first_bad_sha text NOT NULL DEFAULT '',
    last_good_sha text NOT NULL DEFAULT '',
    author        text NOT NULL DEFAULT '',
    pull_request  integer NOT NULL DEFAULT 0,
    message       text NOT NULL DEFAULT '', -- the verdict for people, or why there is none
    seconds       double precision NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    UNIQUE (test_id, bad_sha)
);
CREATE INDEX test_bisects_test_idx ON test_bisects (test_id, id);
CREATE INDEX test_bisects_repository_idx ON test_bisects (repository_id, created_at);
CREATE INDEX test_bisects_run_idx ON test_bisects (run_id);
