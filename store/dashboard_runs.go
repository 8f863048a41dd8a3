package store

import (
	"context"
	"fmt"
)

// RunHeadline is the first failure of a run, for run lists.
type RunHeadline struct {
	Category string
	Title    string
	Failures int
}

// RunHeadlines returns the first failure and failure count of each of the
// given runs that has failures.
func RunHeadlines(ctx context.Context, q Querier, runIDs []int64) (map[int64]RunHeadline, error) {
	out := map[int64]RunHeadline{}
	if len(runIDs) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT x.id, f.category, f.title, f.n
		FROM unnest($1::bigint[]) AS x(id)
		CROSS JOIN LATERAL (SELECT category, title, count(*) OVER () AS n FROM failures WHERE run_id = x.id ORDER BY id LIMIT 1) f`, runIDs)
	if err != nil {
		return nil, fmt.Errorf("run headlines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var h RunHeadline
		if err := rows.Scan(&id, &h.Category, &h.Title, &h.Failures); err != nil {
			return nil, fmt.Errorf("run headlines: %w", err)
		}
		out[id] = h
	}
	return out, rows.Err()
}

// LogTailStart finds where a live tail that needs line fromLine onwards
// starts reading: the chunks after the returned seq, whose first byte
// belongs to line firstLine. Starting at a chunk that begins before
// fromLine means a chunk that starts mid-line never yields a fragment.
func LogTailStart(ctx context.Context, q Querier, stepID int64, fromLine int) (afterSeq, firstLine int, err error) {
	err = q.QueryRow(ctx, `SELECT seq - 1, first_line FROM log_chunks WHERE step_id = $1 AND first_line < $2
		ORDER BY seq DESC LIMIT 1`, stepID, fromLine).Scan(&afterSeq, &firstLine)
	if notFound(err) == ErrNotFound {
		return 0, 1, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("log tail of step %d: %w", stepID, err)
	}
	return afterSeq, firstLine, nil
}
