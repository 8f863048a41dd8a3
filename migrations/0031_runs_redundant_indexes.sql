-- Every webhook inserts a run and supersedes another, and each write pays
-- for every index on runs. Two of them duplicate others: runs_list_idx
-- (id DESC) is the primary key read backwards, and runs_created_idx
-- (created_at) is the leading column of runs_created_cover_idx.
DROP INDEX runs_list_idx;
DROP INDEX runs_created_idx;
