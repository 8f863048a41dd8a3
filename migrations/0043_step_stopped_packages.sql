-- How many packages of a step's test results a panic or a timeout ended:
-- their tests after that point never ran and are in no count, so the check
-- run, the dashboard and the API say so. 0 for steps without results.
ALTER TABLE steps ADD COLUMN stopped_packages integer NOT NULL DEFAULT 0;
