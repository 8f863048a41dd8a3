package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The advisory locks live together so that their keys stay distinct: each
// hashes a prefix of its own (sentinel.report, sentinel.prcomment,
// sentinel.analysis, sentinel.analyze, sentinel.create). Migrate's lock is in migrate.go and the outbound
// recorder's in outbound_calls.go, beside the code that holds them.

// LockRunReport serialises the GitHub reporting of one run across workers and
// processes (a session advisory lock on its own connection), so that two
// report jobs for the same run never both create a check run or send the same
// annotations. The returned function releases the lock.
func (db *DB) LockRunReport(ctx context.Context, runID int64) (unlock func(), err error) {
	return db.sessionLock(ctx, fmt.Sprintf("sentinel.report:%d", runID))
}

// LockPRComment serialises the writes of one pull request's comment, so
// that two jobs never both create it.
func (db *DB) LockPRComment(ctx context.Context, repositoryID int64, pr int) (unlock func(), err error) {
	return db.sessionLock(ctx, fmt.Sprintf("sentinel.prcomment:%d:%d", repositoryID, pr))
}

// sessionLock takes the advisory lock named key on a connection of its own,
// held across GitHub calls (outside any transaction) until unlock.
func (db *DB) sessionLock(ctx context.Context, key string) (unlock func(), err error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, key); err != nil {
		conn.Release()
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	return func() {
		// The job's context may be over; the lock must still go.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key); err != nil {
			_ = conn.Conn().Close(uctx) // closing the session releases its locks
		}
		conn.Release()
	}, nil
}

// LockRepositoryAnalysis serialises, until the end of q's transaction, the
// analyses of one repository's runs: they read and write the same tests,
// clusters and incidents.
func LockRepositoryAnalysis(ctx context.Context, q Querier, repositoryID int64) error {
	_, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('sentinel.analysis:' || $1::bigint, 0))`, repositoryID)
	if err != nil {
		return fmt.Errorf("lock analyses of repository %d: %w", repositoryID, err)
	}
	return nil
}

// LockRunAnalysis serialises, until the end of q's transaction, the
// analyses of one run (a rescued job running beside the first).
func LockRunAnalysis(ctx context.Context, q Querier, runID int64) error {
	_, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('sentinel.analyze:' || $1::bigint, 0))`, runID)
	if err != nil {
		return fmt.Errorf("lock analysis of run %d: %w", runID, err)
	}
	return nil
}

// LockCreations serialises, until the end of q's transaction, the creation
// of the installations and repositories given, which the caller found
// missing. Two intake transactions creating the same repository otherwise
// race on its two unique keys, GitHub id and name: ON CONFLICT settles
// only the one it names, so one transaction failed on the other key. Two
// creating the same two in opposite orders deadlocked, a stall of
// deadlock_timeout (1 s). The locks are taken in one order, keys sorted,
// so two holders never wait on each other in a cycle; the caller takes
// them before it writes anything, and reads the rows again after.
func LockCreations(ctx context.Context, q Querier, installs []int64, repos []RepoRef) error {
	keys := make([]string, 0, len(installs)+len(repos))
	for _, id := range installs {
		keys = append(keys, fmt.Sprintf("sentinel.create.installation:%d", id))
	}
	for _, r := range repos {
		if r.GitHubID != 0 {
			keys = append(keys, fmt.Sprintf("sentinel.create.repository:%d", r.GitHubID))
		} else {
			keys = append(keys, "sentinel.create.repository:"+r.FullName)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	// unnest yields the keys in the array's order, and each row's lock is
	// taken as the row is produced.
	if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k`, keys); err != nil {
		return fmt.Errorf("lock creations: %w", err)
	}
	return nil
}
