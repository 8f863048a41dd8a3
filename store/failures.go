package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/triage"
)

// Failure is a row of failures, with the names of its step and test.
type Failure struct {
	ID          int64
	RunID       int64
	StepID      int64
	StepName    string
	ClusterID   int64
	TestID      int64
	TestName    string
	TestPackage string // the test's package, "" when not a test
	Category    triage.Category
	Title       string
	Message     string
	Fingerprint string
	Confidence  float64
	Evidence    []EvidenceLine
	File        string
	Line        int
	Hint        string
	Remediation string
	Flaky       bool
	Quarantined bool
	CreatedAt   time.Time
	// NormalizedMessage and Identity are what its fingerprint was computed
	// from; HasText is false for rows stored before they were recorded.
	NormalizedMessage string
	Identity          string
	HasText           bool
	// Diagnostics are the located problems the matchers read in the step's
	// log, on the step's first failure only; DiagnosticsDropped counts those
	// not kept (see MaxFailureDiagnostics).
	Diagnostics        []triage.Diagnostic
	DiagnosticsDropped int
}

// MaxFailureDiagnostics bounds the diagnostics stored with one failure: each
// becomes an annotation, and a log of thousands of warnings must not make a
// row, a page or a check run that large. The rest are only counted.
const MaxFailureDiagnostics = 200

// ParseDiagnostics reads failures.diagnostics; a value it cannot read
// gives none, as rows are written only by ReplaceRunFailures.
func ParseDiagnostics(raw []byte) []triage.Diagnostic {
	var ds []triage.Diagnostic
	if len(raw) == 0 || json.Unmarshal(raw, &ds) != nil {
		return nil
	}
	return ds
}

// normalizedOrNil is the failure's normalised message for SQL: NULL when
// the row has none recorded.
func (f Failure) normalizedOrNil() *string {
	if !f.HasText {
		return nil
	}
	return &f.NormalizedMessage
}

// EvidenceLine is one evidence line of a failure: its 1-based line in the
// step log (0 when it came from a result file) and text.
type EvidenceLine struct {
	Line int64  `json:"line"`
	Text string `json:"text"`
}

// ParseEvidence reads failures.evidence as triage stores it (objects with a
// line and text) and also the plain-string form older rows may hold.
func ParseEvidence(raw []byte) []EvidenceLine {
	var items []json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &items) != nil {
		return nil
	}
	out := make([]EvidenceLine, 0, len(items))
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			out = append(out, EvidenceLine{Text: s})
			continue
		}
		var e EvidenceLine
		if json.Unmarshal(it, &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

func failures(ctx context.Context, q Querier, where string, a, b int64) ([]Failure, error) {
	rows, err := q.Query(ctx, `SELECT f.id, f.run_id, COALESCE(f.step_id, 0), COALESCE(s.name, ''), COALESCE(f.cluster_id, 0),
			COALESCE(f.test_id, 0), COALESCE(t.package || '.' || t.name, ''), COALESCE(t.package, ''), f.category, f.title, f.message, f.fingerprint,
			f.confidence, f.evidence, f.file, f.line, f.hint, f.remediation, f.flaky, f.quarantined, f.created_at,
			f.normalized_message, COALESCE(f.identity, ''), f.diagnostics, f.diagnostics_dropped
		FROM failures f LEFT JOIN steps s ON s.id = f.step_id LEFT JOIN tests t ON t.id = f.test_id `+where, a, b)
	if err != nil {
		return nil, fmt.Errorf("failures: %w", err)
	}
	defer rows.Close()
	var out []Failure
	for rows.Next() {
		var f Failure
		var conf float32
		var ev, diags []byte
		var norm *string
		if err := rows.Scan(&f.ID, &f.RunID, &f.StepID, &f.StepName, &f.ClusterID, &f.TestID, &f.TestName, &f.TestPackage, &f.Category, &f.Title,
			&f.Message, &f.Fingerprint, &conf, &ev, &f.File, &f.Line, &f.Hint, &f.Remediation, &f.Flaky, &f.Quarantined, &f.CreatedAt,
			&norm, &f.Identity, &diags, &f.DiagnosticsDropped); err != nil {
			return nil, fmt.Errorf("failures: %w", err)
		}
		if norm != nil {
			f.NormalizedMessage, f.HasText = *norm, true
		}
		f.Confidence = float64(conf)
		f.Evidence = ParseEvidence(ev)
		f.Diagnostics = ParseDiagnostics(diags)
		out = append(out, f)
	}
	return out, rows.Err()
}

// RunFailures returns a run's failures in order.
func RunFailures(ctx context.Context, q Querier, runID int64) ([]Failure, error) {
	return failures(ctx, q, `WHERE f.run_id = $1 AND $2::bigint = 0 ORDER BY f.id`, runID, int64(0))
}

// GetFailure returns one failure.
func GetFailure(ctx context.Context, q Querier, id int64) (Failure, error) {
	fs, err := failures(ctx, q, `WHERE f.id = $1 AND $2::bigint = 0`, id, 0)
	if err == nil && len(fs) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return Failure{}, fmt.Errorf("failure %d: %w", id, err)
	}
	return fs[0], nil
}

// MainFailure returns a run's first failure that is not a flaky test: what
// an incident opened by hand is about.
func MainFailure(ctx context.Context, q Querier, runID int64) (Failure, error) {
	fs, err := failures(ctx, q, `WHERE f.run_id = $1 AND $2::bigint = 0 ORDER BY f.flaky, f.quarantined, f.id LIMIT 1`, runID, 0)
	if err == nil && len(fs) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return Failure{}, fmt.Errorf("main failure of run %d: %w", runID, err)
	}
	return fs[0], nil
}

// RunFailureCategories returns the distinct categories of a run's failures.
func RunFailureCategories(ctx context.Context, q Querier, runID int64) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT category FROM failures WHERE run_id = $1 ORDER BY 1`, runID)
	if err != nil {
		return nil, fmt.Errorf("failure categories of run %d: %w", runID, err)
	}
	cats, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("failure categories of run %d: %w", runID, err)
	}
	return cats, nil
}

// RunHeadline is the first failure of a run, for run lists.
type RunHeadline struct {
	Category triage.Category
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

// RunFailureTest is a test that failed in a run.
type RunFailureTest struct {
	TestID      int64
	ClusterID   int64
	Flaky       bool
	Quarantined bool
}

// RunFailureTests returns the failures of a run that are tests, in order.
func RunFailureTests(ctx context.Context, q Querier, runID int64) ([]RunFailureTest, error) {
	rows, err := q.Query(ctx, `SELECT f.test_id, COALESCE(f.cluster_id, 0),
			f.flaky OR t.state IN ('flaky', 'quarantined'), f.quarantined OR t.state = 'quarantined'
		FROM failures f JOIN tests t ON t.id = f.test_id WHERE f.run_id = $1 ORDER BY f.id`, runID)
	if err != nil {
		return nil, fmt.Errorf("failing tests of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []RunFailureTest
	for rows.Next() {
		var f RunFailureTest
		if err := rows.Scan(&f.TestID, &f.ClusterID, &f.Flaky, &f.Quarantined); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// NewFailure is a triage failure to store with what the job resolved.
type NewFailure struct {
	StepID      int64 // 0: not tied to a step
	ClusterID   int64
	TestID      int64 // 0: not a test failure
	Failure     triage.Failure
	Flaky       bool
	Quarantined bool
}

// ReplaceRunFailures deletes a run's failures and inserts these, so that
// analysing a run again rewrites rather than duplicates. It returns the new
// ids in order.
func ReplaceRunFailures(ctx context.Context, q Querier, runID int64, fs []NewFailure) ([]int64, error) {
	if _, err := q.Exec(ctx, `DELETE FROM failures WHERE run_id = $1`, runID); err != nil {
		return nil, fmt.Errorf("delete failures of run %d: %w", runID, err)
	}
	ids := make([]int64, 0, len(fs))
	for _, nf := range fs {
		f := nf.Failure
		ev := f.Evidence
		if ev == nil {
			ev = []triage.Evidence{}
		}
		evJSON, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("failure evidence: %w", err)
		}
		diags, dropped := f.Diagnostics, f.DiagnosticsDropped
		if len(diags) > MaxFailureDiagnostics {
			diags, dropped = diags[:MaxFailureDiagnostics], dropped+len(diags)-MaxFailureDiagnostics
		}
		if diags == nil {
			diags = []triage.Diagnostic{}
		}
		diagJSON, err := json.Marshal(diags)
		if err != nil {
			return nil, fmt.Errorf("failure diagnostics: %w", err)
		}
		conf := min(max(f.Confidence, 0), 1)
		var id int64
		// The normalised message and identity are kept whole (Normalize
		// bounds the message), or the fingerprint could not be recomputed.
		err = q.QueryRow(ctx, `INSERT INTO failures (run_id, step_id, cluster_id, test_id, category, title, message,
				fingerprint, confidence, evidence, file, line, hint, remediation, flaky, quarantined, normalized_message, identity,
				diagnostics, diagnostics_dropped)
			VALUES ($1, NULLIF($2, 0), NULLIF($3, 0), NULLIF($4, 0), $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
			RETURNING id`,
			runID, nf.StepID, nf.ClusterID, nf.TestID, string(f.Category), triage.ClipBytes(f.Title, 1000),
			triage.ClipBytes(failureMessage(f), 4000), f.Fingerprint, conf, evJSON, f.File, f.Line, f.Hint, f.Remediation,
			nf.Flaky, nf.Quarantined, f.NormalizedMessage, f.Identity, diagJSON, dropped).Scan(&id)
		if err != nil {
			return nil, fmt.Errorf("insert failure of run %d: %w", runID, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// failureMessage is the message people read: the raw one, or the title
// when the failure has none. The normalised form stays in the fingerprint.
func failureMessage(f triage.Failure) string {
	if f.Message != "" {
		return f.Message
	}
	return f.Title
}
