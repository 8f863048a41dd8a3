-- River's GIN indexes of river_job (args, metadata) keep new entries in a
-- pending list by default and merge it into the index when it passes 4 MB,
-- inside whichever insert tips it over. Every push inserts jobs, so under a
-- steady stream one River insert in some tens of thousands stalled the
-- intake's transaction for 100-150 ms (make loadtest, pg_stat_statements'
-- max_exec_time of JobInsertFastMany against a mean of 0.2 ms). Without the
-- list each insert updates the index itself: a little more per insert,
-- never a stall. Every GIN index of the table, so one River adds later is
-- covered too when this is applied; TestRiverJobGINIndexesHaveNoPendingList
-- checks the schema as migrated.
DO $$
DECLARE
    idx regclass;
BEGIN
    FOR idx IN
        SELECT x.indexrelid::regclass FROM pg_index x
        JOIN pg_class c ON c.oid = x.indexrelid
        JOIN pg_am am ON am.oid = c.relam
        WHERE x.indrelid = 'river_job'::regclass AND am.amname = 'gin'
    LOOP
        EXECUTE format('ALTER INDEX %s SET (fastupdate = off)', idx);
    END LOOP;
END
$$;
