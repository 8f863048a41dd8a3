-- Indexes for the dashboard's read queries (store/dashboard*.go).

-- The overview reads the last 30 days of runs (pass rates, recovery time,
-- duration trend): covering the columns it needs makes that an index-only
-- scan of a few thousand entries however long the history is.
CREATE INDEX runs_created_cover_idx ON runs (created_at)
    INCLUDE (id, repository_id, branch, state, started_at, finished_at);

-- Cluster lists and pages show each cluster's newest incident.
CREATE INDEX incidents_cluster_idx ON incidents (cluster_id, id DESC) WHERE cluster_id IS NOT NULL;

-- The flaky tests page lists the tests that are not healthy, by score.
CREATE INDEX tests_flaky_score_idx ON tests (score DESC, id DESC) WHERE state <> 'healthy' OR score > 0;
