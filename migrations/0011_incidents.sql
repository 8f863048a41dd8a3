-- Incident lifecycle state kept by triage.analyze and incident.sync.
ALTER TABLE incidents
    ADD COLUMN fingerprint           text    NOT NULL DEFAULT '',  -- the issue marker; the cluster's fingerprint for cluster incidents
    ADD COLUMN category              text    NOT NULL DEFAULT '',
    ADD COLUMN confidence            real    NOT NULL DEFAULT 0,
    ADD COLUMN occurrences           integer NOT NULL DEFAULT 0,   -- default-branch runs showing it
    ADD COLUMN clean_runs            integer NOT NULL DEFAULT 0,   -- consecutive default-branch runs without it
    ADD COLUMN last_run_id           bigint REFERENCES runs (id) ON DELETE SET NULL,
    ADD COLUMN last_occurrence_at    timestamptz,
    ADD COLUMN commented_occurrences integer NOT NULL DEFAULT 0,   -- occurrences already told on the issue
    ADD COLUMN github_state          text    NOT NULL DEFAULT '',  -- '', open, closed: what the issue was last set to
    ADD COLUMN reopen_count          integer NOT NULL DEFAULT 0,
    ADD COLUMN resolution            text    NOT NULL DEFAULT '',  -- why it was resolved
    ADD COLUMN postmortem            text    NOT NULL DEFAULT '';

-- One open incident of each non-cluster kind per repository.
CREATE UNIQUE INDEX incidents_open_kind_idx ON incidents (repository_id, kind)
    WHERE status <> 'resolved' AND kind <> 'cluster';
