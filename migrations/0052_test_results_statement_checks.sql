-- Recording a run's results paid for three foreign keys per row: each of the
-- 5,000 rows of a large suite looked up and locked its run, its step and its
-- test on its own (15,000 queries inside one COPY, 25x the cost of the COPY
-- into an unconstrained table). The same guarantees are now kept once per
-- statement, over the rows the statement wrote (transition tables):
--
--  * writing results: every run, step and test they name must exist, and a
--    result's step must belong to the result's run; else the statement fails
--    with foreign_key_violation naming the missing parent. The parents are
--    locked FOR KEY SHARE, as a foreign key locks them, so a concurrent
--    delete waits for the writer to commit, then its cascade sees the rows.
--  * deleting runs, steps or tests deletes their results (ON DELETE CASCADE
--    did), by the indexes test_results already has: a step's results are
--    found through their run (test_results_run_idx), which is why a result's
--    step must be of its run.
--
-- TRUNCATE of runs, steps or tests stays refused by their other referencing
-- tables (steps, log_chunks, test_events), as before.

ALTER TABLE test_results
    DROP CONSTRAINT test_results_run_id_fkey,
    DROP CONSTRAINT test_results_step_id_fkey,
    DROP CONSTRAINT test_results_test_id_fkey;

CREATE FUNCTION test_results_check_parents() RETURNS trigger LANGUAGE plpgsql AS $$
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
    IF (SELECT count(*) FROM (SELECT 1 FROM tests WHERE id IN (SELECT test_id FROM written) FOR KEY SHARE) l)
        <> (SELECT count(DISTINCT test_id) FROM written) THEN
        SELECT w.test_id INTO missing FROM written w WHERE NOT EXISTS (SELECT 1 FROM tests t WHERE t.id = w.test_id) LIMIT 1;
        RAISE EXCEPTION 'test results name test %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation', TABLE = 'test_results', COLUMN = 'test_id';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER test_results_parents_on_insert AFTER INSERT ON test_results
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION test_results_check_parents();
CREATE TRIGGER test_results_parents_on_update AFTER UPDATE ON test_results
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION test_results_check_parents();

CREATE FUNCTION test_results_cascade_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM test_results WHERE run_id IN (SELECT id FROM gone);
    RETURN NULL;
END
$$;

CREATE FUNCTION test_results_cascade_steps() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM test_results t USING gone g WHERE t.run_id = g.run_id AND t.step_id = g.id;
    RETURN NULL;
END
$$;

CREATE FUNCTION test_results_cascade_tests() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM test_results WHERE test_id IN (SELECT id FROM gone);
    RETURN NULL;
END
$$;

CREATE TRIGGER test_results_cascade AFTER DELETE ON runs
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION test_results_cascade_runs();
CREATE TRIGGER test_results_cascade AFTER DELETE ON steps
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION test_results_cascade_steps();
CREATE TRIGGER test_results_cascade AFTER DELETE ON tests
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION test_results_cascade_tests();
