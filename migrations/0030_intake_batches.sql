-- A new push supersedes the unfinished runs of its branch or pull request
-- (its lane). Indexing only unfinished runs by lane keeps that lookup to a
-- handful of rows however long a branch's history grows; the old index on
-- state alone had the planner scan every run of the repository. Queries on
-- the state of unfinished runs alone use this index too (same predicate).
CREATE INDEX runs_active_lane_idx ON runs (repository_id, COALESCE(pr_number, 0), branch)
    WHERE state IN ('awaiting_approval', 'queued', 'running');
DROP INDEX runs_active_idx;

-- The intake updates each new run (its job id) and each delivery (its
-- outcome) right after inserting them, in the same transaction. Free room
-- on every page lets those updates be HOT (no new index entries), and lz4
-- compresses a payload several times faster than the default pglz.
ALTER TABLE runs SET (fillfactor = 80);
ALTER TABLE deliveries SET (fillfactor = 80);
DO $$
BEGIN
    -- lz4 is optional in a PostgreSQL build; pglz stays where it is missing.
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE deliveries ALTER COLUMN payload SET COMPRESSION lz4;
    END IF;
END $$;
