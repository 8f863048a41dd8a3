-- Recording a run wrote each result into two indexes keyed by test: the
-- latest results of a test (test_results_test_cover_idx, by id) and its
-- results in a time window (test_results_test_time_idx, by created_at).
-- Both are inserted into at a random place, one leaf page per test, so a
-- run of 5,000 tests dirtied about 10,000 index pages (and as many full-page
-- images in the WAL after each checkpoint), the largest cost of recording
-- its results after the COPY itself. One index now serves both readers: a
-- test's results newest first by the time they were recorded (id breaks
-- ties within a transaction, whose rows share created_at), with what the
-- flaky page, the test page and the weekly trend read, index-only.
CREATE INDEX test_results_test_recent_idx ON test_results (test_id, created_at DESC, id DESC)
    INCLUDE (run_id, outcome, duration_ms);
DROP INDEX test_results_test_cover_idx;
DROP INDEX test_results_test_time_idx;

-- Checking the tests of a run's results locked each of them FOR KEY SHARE:
-- 5,000 row locks for a large suite, each a WAL record and a write to the
-- tests table's pages. Tests are deleted rarely (Sentinel deletes none;
-- they go with their repository, or by hand), so the guard moves to that
-- side: a statement deleting tests
-- first takes test_results in SHARE mode, which waits for every transaction
-- writing results to end and keeps new writers out until it ends; its
-- cascade (test_results_cascade_tests, a statement of its own) then sees
-- every committed result. Writers check that their tests exist, unlocked:
-- a delete that committed first is seen, one that started first holds the
-- lock the writer waits for. Runs and steps, one or two rows a statement,
-- stay locked FOR KEY SHARE.
CREATE OR REPLACE FUNCTION test_results_check_parents() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    IF (SELECT count(*) FROM (SELECT 1 FROM runs WHERE id IN (SELECT run_id FROM written) FOR KEY SHARE) l)
        <> (SELECT count(DISTINCT run_id) FROM written) THEN
        SELECT w.run_id INTO missing FROM written w WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = w.run_id) LIMIT 1;
        RAISE EXCEPTION 'test results name run %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation', TABLE = 'test_results', COLUMN = 'run_id';
    END IF;
    IF (SELECT count(*) FROM (SELECT 1 FROM steps WHERE id IN (SELECT step_id FROM written) FOR KEY SHARE) l)
        <> (SELECT count(DISTINCT step_id) FROM written) THEN
        SELECT w.step_id INTO missing FROM written w
            WHERE w.step_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.id = w.step_id) LIMIT 1;
        RAISE EXCEPTION 'test results name step %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation', TABLE = 'test_results', COLUMN = 'step_id';
    END IF;
    SELECT w.step_id INTO missing FROM (SELECT DISTINCT run_id, step_id FROM written WHERE step_id IS NOT NULL) w
        JOIN steps s ON s.id = w.step_id WHERE s.run_id <> w.run_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'test results name step %, which is a step of another run', missing
            USING ERRCODE = 'foreign_key_violation', TABLE = 'test_results', COLUMN = 'step_id';
    END IF;
    SELECT w.test_id INTO missing FROM (SELECT DISTINCT test_id FROM written) w
        WHERE NOT EXISTS (SELECT 1 FROM tests t WHERE t.id = w.test_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'test results name test %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation', TABLE = 'test_results', COLUMN = 'test_id';
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION tests_delete_waits_for_result_writers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE test_results IN SHARE MODE;
    RETURN NULL;
END
$$;

CREATE TRIGGER test_results_writers_done BEFORE DELETE ON tests
    FOR EACH STATEMENT EXECUTE FUNCTION tests_delete_waits_for_result_writers();
