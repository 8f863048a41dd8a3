-- Recorded GitHub mode looked calls up by scanning them: the sequence number
-- of a call (an issue's number) was a count(*) of the earlier calls to the
-- same method and path, and a check run's state or a commit's check runs were
-- found by loading every recorded POST .../check-runs of the repository. Each
-- report job then cost more as history grew.
--
-- seq numbers the calls to one method and path (1, 2, ...) once, at insert,
-- so the next one is the last one plus one: an index lookup, not a count.
-- Existing calls are numbered in id order, as count(*) numbered them.
ALTER TABLE outbound_calls ADD COLUMN seq integer;
UPDATE outbound_calls o SET seq = n.seq
FROM (SELECT id, row_number() OVER (PARTITION BY method, path ORDER BY id) AS seq FROM outbound_calls) n
WHERE o.id = n.id;
ALTER TABLE outbound_calls ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX outbound_calls_path_seq_idx ON outbound_calls (method, path, seq);

-- The check runs created for a commit (the report's "does this run already
-- have a check run?"), found by the head SHA of the recorded request.
CREATE INDEX outbound_calls_check_run_sha_idx ON outbound_calls (path, (request->>'head_sha'), id)
    WHERE method = 'POST' AND request ? 'head_sha';
