-- fork: the run executes code from a fork (a pull request from another
-- repository, or one whose head repository was deleted). Such a run waits
-- for a collaborator's approval, and so does every re-run of it: the flag
-- travels with the run, since head_repo alone cannot tell a deleted fork.
ALTER TABLE runs ADD COLUMN fork boolean NOT NULL DEFAULT false;
UPDATE runs r SET fork = true FROM repositories p
	WHERE p.id = r.repository_id AND r.trigger = 'pull_request'
		AND (r.head_repo <> p.full_name OR r.state = 'awaiting_approval');

-- limits: the limits each step of the run was given and whether the
-- runtime enforced each ({"memory": {"value": 4294967296, "enforced": true}, ...});
-- NULL until the run reaches its steps.
ALTER TABLE runs ADD COLUMN limits jsonb;

-- warnings: what went wrong without failing the run (unparsable result
-- files, result caps reached), shown on the run page and in the check run.
ALTER TABLE runs ADD COLUMN warnings text[] NOT NULL DEFAULT '{}';
