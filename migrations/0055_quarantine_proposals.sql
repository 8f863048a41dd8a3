-- Quarantine proposals: the pull requests Sentinel opens to add a flaky test
-- to .sentinel/quarantine.yml, and later to take it out (jobs/quarantine_*.go).
-- One open proposal per test at most, whatever the doors that ask for it.
CREATE TABLE quarantine_proposals (
    id            bigserial PRIMARY KEY,
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    test_id       bigint NOT NULL REFERENCES tests (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('add', 'remove')),
    -- pending: being opened; open: the pull request is open; merged, closed:
    -- its end (closed also when there was nothing to change).
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'open', 'merged', 'closed')),
    branch        text NOT NULL,
    reason        text NOT NULL DEFAULT '',
    pr_number     integer,
    issue_number  integer,
    note          text NOT NULL DEFAULT '', -- why it closed, for people
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX quarantine_proposals_one_active_idx ON quarantine_proposals (test_id) WHERE state IN ('pending', 'open');
CREATE INDEX quarantine_proposals_test_idx ON quarantine_proposals (test_id, id DESC);

-- flaky: {auto_quarantine, recover_runs} of the default branch's .sentinel.yml.
ALTER TABLE repository_policies
    ADD COLUMN auto_quarantine boolean NOT NULL DEFAULT false,
    ADD COLUMN recover_runs integer NOT NULL DEFAULT 0;
