package store

import (
	"context"
	"fmt"
	"strconv"
)

// NewRun is what creating a run needs.
type NewRun struct {
	RepositoryID  int64
	SHA, Ref      string
	Branch        string
	PRNumber      int
	HeadRepo      string
	CloneURL      string
	CommitMessage string
	Author        string
	Trigger       Trigger
	Attempt       int
	ExternalID    string
	State         RunState // queued (default) or awaiting_approval
	Fork          bool     // code from a fork (see Run.Fork)
	DeliveryID    string
}

// InsertRun creates a run unless one with the same identity (repository,
// SHA, trigger, attempt, PR, external id) exists; then it returns that one
// with created == false. The unique index decides, so concurrent duplicate
// deliveries cannot both create it.
func InsertRun(ctx context.Context, q Querier, n NewRun) (id int64, created bool, err error) {
	ids, createdAll, err := InsertRuns(ctx, q, []NewRun{n})
	if err != nil {
		return 0, false, err
	}
	return ids[0], createdAll[0], nil
}

// InsertRuns is InsertRun for many runs in one statement: ids[i] and
// created[i] answer for runs[i]. Runs of the same identity within the batch
// get the same id, created only for the first.
func InsertRuns(ctx context.Context, q Querier, runs []NewRun) (ids []int64, created []bool, err error) {
	runs = append([]NewRun(nil), runs...)
	ids, created = make([]int64, len(runs)), make([]bool, len(runs))
	first := map[string]int{} // identity → index of its first run in the batch
	var c newRunColumns
	for i, n := range runs {
		if n.Attempt == 0 {
			n.Attempt = 1
		}
		if n.State == "" {
			n.State = RunQueued
		}
		runs[i] = n
		if _, seen := first[n.identity()]; !seen {
			first[n.identity()] = i
			c.add(n)
		}
	}
	byIdentity := map[string]int64{}
	rows, err := q.Query(ctx, `
		INSERT INTO runs (repository_id, sha, ref, branch, pr_number, head_repo, clone_url,
			commit_message, author, trigger, attempt, external_id, state, delivery_id, fork)
		SELECT repository_id, sha, ref, branch, NULLIF(pr_number, 0), head_repo, clone_url,
			commit_message, author, trigger, attempt, external_id, state, delivery_id, fork
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[],
			$8::text[], $9::text[], $10::text[], $11::int[], $12::text[], $13::text[], $14::text[], $15::bool[]) WITH ORDINALITY
			AS u(repository_id, sha, ref, branch, pr_number, head_repo, clone_url,
				commit_message, author, trigger, attempt, external_id, state, delivery_id, fork, ord)
		ORDER BY ord
		ON CONFLICT DO NOTHING
		RETURNING id, repository_id, sha, trigger, attempt, COALESCE(pr_number, 0), external_id`, c.args()...)
	if err != nil {
		return nil, nil, fmt.Errorf("insert runs: %w", err)
	}
	if err := scanIdentities(rows, byIdentity); err != nil {
		return nil, nil, fmt.Errorf("insert runs: %w", err)
	}
	createdNow := len(byIdentity)
	if createdNow < len(first) {
		// The rest existed (a replay, or two deliveries of one commit).
		rows, err := q.Query(ctx, `
			SELECT r.id, r.repository_id, r.sha, r.trigger, r.attempt, COALESCE(r.pr_number, 0), r.external_id
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[]) AS u(repository_id, sha, trigger, attempt, pr_number, external_id)
			JOIN runs r ON r.repository_id = u.repository_id AND r.sha = u.sha AND r.trigger = u.trigger
				AND r.attempt = u.attempt AND COALESCE(r.pr_number, 0) = u.pr_number AND r.external_id = u.external_id`,
			c.repositoryIDs, c.shas, c.triggers, c.attempts, c.prNumbers, c.externalIDs)
		if err != nil {
			return nil, nil, fmt.Errorf("find existing runs: %w", err)
		}
		existing := map[string]int64{}
		if err := scanIdentities(rows, existing); err != nil {
			return nil, nil, fmt.Errorf("find existing runs: %w", err)
		}
		for key, id := range existing {
			if _, isNew := byIdentity[key]; !isNew {
				byIdentity[key] = -id // negative: found, not created
			}
		}
	}
	for i, n := range runs {
		id, ok := byIdentity[n.identity()]
		if !ok {
			return nil, nil, fmt.Errorf("run of %s (%s, attempt %d) neither inserted nor found", n.SHA, n.Trigger, n.Attempt)
		}
		ids[i], created[i] = max(id, -id), id > 0 && first[n.identity()] == i
	}
	return ids, created, nil
}

// identity is the key of runs_identity_idx.
func (n NewRun) identity() string {
	return strconv.FormatInt(n.RepositoryID, 10) + "\x00" + n.SHA + "\x00" + string(n.Trigger) + "\x00" +
		strconv.Itoa(n.Attempt) + "\x00" + strconv.Itoa(n.PRNumber) + "\x00" + n.ExternalID
}

func scanIdentities(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close()
}, into map[string]int64) error {
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n NewRun
		if err := rows.Scan(&id, &n.RepositoryID, &n.SHA, &n.Trigger, &n.Attempt, &n.PRNumber, &n.ExternalID); err != nil {
			return err
		}
		into[n.identity()] = id
	}
	return rows.Err()
}

// newRunColumns holds NewRuns column by column, as unnest takes them.
type newRunColumns struct {
	repositoryIDs                                                  []int64
	shas, refs, branches                                           []string
	prNumbers, attempts                                            []int32
	headRepos, cloneURLs, messages, authors, triggers, externalIDs []string
	states, deliveryIDs                                            []string
	forks                                                          []bool
}

func (c *newRunColumns) add(n NewRun) {
	c.repositoryIDs = append(c.repositoryIDs, n.RepositoryID)
	c.shas, c.refs, c.branches = append(c.shas, n.SHA), append(c.refs, n.Ref), append(c.branches, n.Branch)
	c.prNumbers, c.attempts = append(c.prNumbers, int32(n.PRNumber)), append(c.attempts, int32(n.Attempt))
	c.headRepos, c.cloneURLs = append(c.headRepos, n.HeadRepo), append(c.cloneURLs, n.CloneURL)
	c.messages, c.authors = append(c.messages, n.CommitMessage), append(c.authors, n.Author)
	c.triggers, c.externalIDs = append(c.triggers, string(n.Trigger)), append(c.externalIDs, n.ExternalID)
	c.states, c.deliveryIDs = append(c.states, string(n.State)), append(c.deliveryIDs, n.DeliveryID)
	c.forks = append(c.forks, n.Fork)
}

func (c *newRunColumns) args() []any {
	return []any{c.repositoryIDs, c.shas, c.refs, c.branches, c.prNumbers, c.headRepos, c.cloneURLs,
		c.messages, c.authors, c.triggers, c.attempts, c.externalIDs, c.states, c.deliveryIDs, c.forks}
}
