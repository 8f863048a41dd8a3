-- Flaky detection: per-test rolling state, kept on the tests row so that a
-- run updates only its own tests (O(tests in the run), never O(history)).
ALTER TABLE tests
    ADD COLUMN window_bits          bigint  NOT NULL DEFAULT 0,   -- bit 0 = latest counted run, 1 = failed
    ADD COLUMN window_n             integer NOT NULL DEFAULT 0,
    ADD COLUMN streak_sha           text    NOT NULL DEFAULT '',
    ADD COLUMN streak_prev_pass_sha text    NOT NULL DEFAULT '',
    ADD COLUMN runs                 integer NOT NULL DEFAULT 0,   -- counted runs in the window
    ADD COLUMN episodes             integer NOT NULL DEFAULT 0,   -- intermittent failures in the window
    ADD COLUMN evidence_runs        bigint[] NOT NULL DEFAULT '{}', -- latest runs where it failed, newest first
    ADD COLUMN quarantine_source    text    NOT NULL DEFAULT '',  -- dashboard, button, config, api
    ADD COLUMN quarantine_reason    text    NOT NULL DEFAULT '';

-- Every state change of a test, with its reason.
CREATE TABLE test_events (
    id         bigserial PRIMARY KEY,
    test_id    bigint NOT NULL REFERENCES tests (id) ON DELETE CASCADE,
    run_id     bigint REFERENCES runs (id) ON DELETE SET NULL,
    from_state text NOT NULL,
    to_state   text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    actor      text NOT NULL DEFAULT 'worker',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX test_events_test_idx ON test_events (test_id, id DESC);

-- One row per analysed run. Its presence is what keeps a repeated
-- triage.analyze from counting a run twice in clusters and flaky windows.
CREATE TABLE run_analyses (
    run_id       bigint PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    mass_failure boolean NOT NULL DEFAULT false, -- outcomes not counted toward flakiness
    reason       text NOT NULL DEFAULT '',
    tests        integer NOT NULL DEFAULT 0,
    failed_tests integer NOT NULL DEFAULT 0,
    failures     integer NOT NULL DEFAULT 0,
    analyzed_at  timestamptz NOT NULL DEFAULT now()
);

-- What a repository's .sentinel.yml says about triage, stored by the runner
-- when it reads the file (the triage job has no checkout).
CREATE TABLE repository_policies (
    repository_id     bigint PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    quarantine        text[] NOT NULL DEFAULT '{}',   -- test identities whose failures do not fail the run
    incidents_after   integer NOT NULL DEFAULT 0,     -- 0: default
    incidents_within  interval,                       -- NULL: default
    updated_at        timestamptz NOT NULL DEFAULT now()
);
