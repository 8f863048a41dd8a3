-- Template mining on the server and cluster control for people (#17).

-- What re-fingerprinting needs of each failure: its normalised message and
-- the identity (test id or top frames) that went into its fingerprint.
-- failures.message already holds the raw message people read. NULL: a row
-- from before this migration, which keeps its cluster.
ALTER TABLE failures
    ADD COLUMN normalized_message text,
    ADD COLUMN identity           text;

-- custom_title: a person's name for the cluster ('' = none); muted: opens no
-- incident; pinned: split off by a person, so its fingerprint is used as is
-- and never widened into another cluster's template.
ALTER TABLE clusters
    ADD COLUMN custom_title text    NOT NULL DEFAULT '',
    ADD COLUMN muted        boolean NOT NULL DEFAULT false,
    ADD COLUMN pinned       boolean NOT NULL DEFAULT false;

-- Fingerprints that now lead to another cluster: a cluster merged into
-- another (by a person, or because a template widened) leaves its old
-- fingerprint here, so later occurrences of it meet in the kept cluster.
CREATE TABLE cluster_aliases (
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    fingerprint   text   NOT NULL,
    cluster_id    bigint NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository_id, fingerprint)
);
CREATE INDEX cluster_aliases_cluster_idx ON cluster_aliases (cluster_id);

-- Each repository's learned message templates (triage.TemplateMiner's
-- encoding), written by triage.analyze under the repository's analysis lock.
CREATE TABLE repository_templates (
    repository_id bigint PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    miner         bytea   NOT NULL,
    templates     integer NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- An incident closed because its cluster was merged into another cluster
-- whose incident was kept: its issue is closed as a duplicate of that one's.
ALTER TABLE incidents ADD COLUMN duplicate_of bigint REFERENCES incidents (id) ON DELETE SET NULL;
