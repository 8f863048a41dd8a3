-- The one comment Sentinel keeps on each pull request, edited in place as
-- runs finish (jobs/pr_comment.go). body_sha is the SHA-256 of the body last
-- sent, so an unchanged summary costs no GitHub call.
CREATE TABLE pr_comments (
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    pr_number     integer NOT NULL,
    comment_id    bigint NOT NULL,
    body_sha      text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository_id, pr_number)
);
