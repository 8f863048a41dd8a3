-- One row per start of a `serve` or `worker` process. id is the process's
-- River client id, so river_job.attempted_by names the process that holds a
-- running job. A process updates heartbeat_at every few seconds; one whose
-- heartbeat is stale (or that stopped) has its running jobs rescued by any
-- live process, which then sets rescued_at.
CREATE TABLE processes (
    id           text PRIMARY KEY,
    command      text NOT NULL,
    hostname     text NOT NULL,
    pid          integer NOT NULL,
    work_dir     text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stopped_at   timestamptz,
    rescued_at   timestamptz
);

-- The rescue's scan: processes not yet rescued.
CREATE INDEX processes_unrescued_idx ON processes (heartbeat_at) WHERE rescued_at IS NULL;


-- Steps left pending or running by a run that is over (its worker was lost):
-- the liveness sweep ends them, so their live tails end too.
CREATE INDEX steps_unfinished_idx ON steps (run_id) WHERE state IN ('pending', 'running');
