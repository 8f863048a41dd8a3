-- Sentinel's domain schema. River's tables are created beside these by
-- rivermigrate in the same start-up step.

CREATE TABLE installations (
    id            bigint PRIMARY KEY,               -- GitHub's installation id
    account_login text NOT NULL,
    account_type  text NOT NULL DEFAULT 'User',
    state         text NOT NULL DEFAULT 'active'
                  CHECK (state IN ('active', 'suspended', 'deleted')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE repositories (
    id              bigserial PRIMARY KEY,
    github_id       bigint UNIQUE,                  -- NULL for repositories added by hand
    installation_id bigint REFERENCES installations (id) ON DELETE SET NULL,
    full_name       text NOT NULL UNIQUE,           -- owner/name
    clone_url       text NOT NULL DEFAULT '',
    default_branch  text NOT NULL DEFAULT 'main',
    private         boolean NOT NULL DEFAULT false,
    active          boolean NOT NULL DEFAULT true,  -- false once removed from the installation
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX repositories_installation_idx ON repositories (installation_id);

-- Every delivery is kept raw (bytea, not jsonb: jsonb would re-serialise and
-- the signature could no longer be checked) for audit and `sentinel replay`.
CREATE TABLE deliveries (
    id              bigserial PRIMARY KEY,
    delivery_id     text NOT NULL UNIQUE,           -- X-GitHub-Delivery
    event           text NOT NULL,
    action          text NOT NULL DEFAULT '',
    installation_id bigint,
    repository_id   bigint REFERENCES repositories (id) ON DELETE SET NULL,
    headers         jsonb NOT NULL DEFAULT '{}',
    payload         bytea NOT NULL,
    outcome         text NOT NULL DEFAULT '',
    run_ids         bigint[] NOT NULL DEFAULT '{}',
    received_at     timestamptz NOT NULL DEFAULT now(),
    replayed_at     timestamptz
);
CREATE INDEX deliveries_received_idx ON deliveries (received_at DESC);

CREATE TABLE runs (
    id              bigserial PRIMARY KEY,
    repository_id   bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    sha             text NOT NULL,
    ref             text NOT NULL DEFAULT '',
    branch          text NOT NULL DEFAULT '',
    pr_number       integer,
    head_repo       text NOT NULL DEFAULT '',       -- full name of the PR head repo (forks differ)
    clone_url       text NOT NULL DEFAULT '',
    commit_message  text NOT NULL DEFAULT '',
    author          text NOT NULL DEFAULT '',
    trigger         text NOT NULL
                    CHECK (trigger IN ('push', 'pull_request', 'api', 'external', 'demo')),
    attempt         integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    external_id     text NOT NULL DEFAULT '',       -- run id in another CI system (POST /api/results)
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('awaiting_approval', 'queued', 'running', 'succeeded',
                                     'failed', 'timed_out', 'cancelled', 'errored')),
    conclusion      text NOT NULL DEFAULT '',       -- what the check run concluded after triage
    category        text NOT NULL DEFAULT '',       -- run-level failure category (e.g. configuration)
    error           text NOT NULL DEFAULT '',       -- why a run failed before or outside its steps
    superseded_by   bigint REFERENCES runs (id) ON DELETE SET NULL,
    check_run_id    bigint,
    job_id          bigint,                         -- River job executing the run, for cancellation
    delivery_id     text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- A run for the same commit, trigger and attempt exists once, however many
-- duplicate deliveries race to create it.
CREATE UNIQUE INDEX runs_identity_idx ON runs (repository_id, sha, trigger, attempt, COALESCE(pr_number, 0), external_id);
CREATE INDEX runs_list_idx ON runs (id DESC);
CREATE INDEX runs_repo_idx ON runs (repository_id, id DESC);
CREATE INDEX runs_branch_idx ON runs (repository_id, branch, id DESC);
CREATE INDEX runs_pr_idx ON runs (repository_id, pr_number, id DESC) WHERE pr_number IS NOT NULL;
CREATE INDEX runs_active_idx ON runs (state) WHERE state IN ('awaiting_approval', 'queued', 'running');
CREATE INDEX runs_created_idx ON runs (created_at);

CREATE TABLE steps (
    id            bigserial PRIMARY KEY,
    run_id        bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position      integer NOT NULL,
    name          text NOT NULL,
    attempt       integer NOT NULL DEFAULT 1,       -- retry_failed re-runs are further attempts
    image         text NOT NULL DEFAULT '',
    command       text NOT NULL DEFAULT '',
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'timed_out',
                                   'cancelled', 'errored', 'skipped')),
    exit_code     integer,
    oom_killed    boolean NOT NULL DEFAULT false,
    error         text NOT NULL DEFAULT '',
    log_bytes     bigint NOT NULL DEFAULT 0,
    log_truncated boolean NOT NULL DEFAULT false,
    started_at    timestamptz,
    finished_at   timestamptz,
    UNIQUE (run_id, position, attempt)
);

CREATE TABLE log_chunks (
    step_id    bigint NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    seq        integer NOT NULL,
    first_line integer NOT NULL,                    -- 1-based number of the chunk's first line
    data       bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (step_id, seq)
);

-- A test's identity is stable across runs: repository + package/class + name
-- (subtests and parameterised variants keep their full name).
CREATE TABLE tests (
    id               bigserial PRIMARY KEY,
    repository_id    bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    package          text NOT NULL,
    name             text NOT NULL,
    state            text NOT NULL DEFAULT 'healthy'
                     CHECK (state IN ('healthy', 'flaky', 'quarantined', 'broken', 'recovered')),
    score            double precision NOT NULL DEFAULT 0,
    failure_rate     double precision NOT NULL DEFAULT 0,
    flip_rate        double precision NOT NULL DEFAULT 0,
    quarantine_owner text NOT NULL DEFAULT '',
    quarantine_until timestamptz,
    first_bad_sha    text NOT NULL DEFAULT '',
    last_good_sha    text NOT NULL DEFAULT '',
    state_changed_at timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repository_id, package, name)
);
CREATE INDEX tests_state_idx ON tests (repository_id, state, score DESC);

CREATE TABLE test_results (
    id          bigserial PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id     bigint REFERENCES steps (id) ON DELETE CASCADE,
    test_id     bigint NOT NULL REFERENCES tests (id) ON DELETE CASCADE,
    attempt     integer NOT NULL DEFAULT 1,
    outcome     text NOT NULL CHECK (outcome IN ('pass', 'fail', 'skip', 'error', 'incomplete')),
    duration_ms integer NOT NULL DEFAULT 0,
    file        text NOT NULL DEFAULT '',
    line        integer NOT NULL DEFAULT 0,
    message     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX test_results_run_idx ON test_results (run_id);
CREATE INDEX test_results_test_idx ON test_results (test_id, id DESC);

CREATE TABLE clusters (
    id                bigserial PRIMARY KEY,
    repository_id     bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    fingerprint       text NOT NULL,
    category          text NOT NULL,
    title             text NOT NULL,                -- the normalised message
    occurrences       integer NOT NULL DEFAULT 0,
    run_count         integer NOT NULL DEFAULT 0,
    first_seen_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at      timestamptz NOT NULL DEFAULT now(),
    representative_id bigint,                       -- a failures.id chosen as the example
    UNIQUE (repository_id, fingerprint)
);
CREATE INDEX clusters_recent_idx ON clusters (repository_id, last_seen_at DESC);
CREATE INDEX clusters_last_seen_idx ON clusters (last_seen_at DESC);

CREATE TABLE failures (
    id          bigserial PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id     bigint REFERENCES steps (id) ON DELETE SET NULL,
    cluster_id  bigint REFERENCES clusters (id) ON DELETE SET NULL,
    test_id     bigint REFERENCES tests (id) ON DELETE SET NULL,
    category    text NOT NULL,
    title       text NOT NULL,
    message     text NOT NULL DEFAULT '',           -- normalised message
    fingerprint text NOT NULL,
    confidence  real NOT NULL DEFAULT 0 CHECK (confidence BETWEEN 0 AND 1),
    evidence    jsonb NOT NULL DEFAULT '[]',
    file        text NOT NULL DEFAULT '',
    line        integer NOT NULL DEFAULT 0,
    hint        text NOT NULL DEFAULT '',
    remediation text NOT NULL DEFAULT '',
    flaky       boolean NOT NULL DEFAULT false,
    quarantined boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX failures_run_idx ON failures (run_id);
CREATE INDEX failures_cluster_idx ON failures (cluster_id, created_at DESC);

CREATE TABLE incidents (
    id                  bigserial PRIMARY KEY,
    repository_id       bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    cluster_id          bigint REFERENCES clusters (id) ON DELETE SET NULL,
    kind                text NOT NULL DEFAULT 'cluster'
                        CHECK (kind IN ('cluster', 'red_branch', 'infrastructure', 'widespread')),
    title               text NOT NULL,
    severity            text NOT NULL DEFAULT 'medium'
                        CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    status              text NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'mitigating', 'resolved')),
    needs_human         boolean NOT NULL DEFAULT false,
    impact              jsonb NOT NULL DEFAULT '{}',
    root_cause          text NOT NULL DEFAULT '',
    first_bad_sha       text NOT NULL DEFAULT '',
    last_good_sha       text NOT NULL DEFAULT '',
    github_issue_number integer,
    last_commented_at   timestamptz,
    opened_at           timestamptz NOT NULL DEFAULT now(),
    mitigated_at        timestamptz,
    resolved_at         timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- One open incident per cluster.
CREATE UNIQUE INDEX incidents_open_cluster_idx ON incidents (cluster_id) WHERE status <> 'resolved';
CREATE INDEX incidents_status_idx ON incidents (status, severity, opened_at DESC);
CREATE INDEX incidents_repo_idx ON incidents (repository_id, opened_at DESC);

CREATE TABLE incident_events (
    id          bigserial PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        text NOT NULL,                      -- opened, occurrence, status, github, resolved, reopened
    message     text NOT NULL DEFAULT '',
    run_id      bigint REFERENCES runs (id) ON DELETE SET NULL,
    data        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_events_incident_idx ON incident_events (incident_id, id);

CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    actor        text NOT NULL,                     -- webhook:<delivery>, worker, dashboard:<who>
    action       text NOT NULL,
    subject_type text NOT NULL DEFAULT '',
    subject_id   bigint,
    details      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_type, subject_id);

-- Without App credentials, GitHub calls are recorded here instead of sent, so
-- the dashboard can show what would have been posted.
CREATE TABLE outbound_calls (
    id              bigserial PRIMARY KEY,
    installation_id bigint,
    method          text NOT NULL,
    path            text NOT NULL,
    request         jsonb NOT NULL DEFAULT '{}',
    status          integer NOT NULL DEFAULT 0,
    response        jsonb NOT NULL DEFAULT '{}',
    run_id          bigint REFERENCES runs (id) ON DELETE SET NULL,
    incident_id     bigint REFERENCES incidents (id) ON DELETE SET NULL,
    recorded        boolean NOT NULL DEFAULT true,  -- false when it was really sent
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbound_calls_run_idx ON outbound_calls (run_id, id);
CREATE INDEX outbound_calls_incident_idx ON outbound_calls (incident_id, id);
