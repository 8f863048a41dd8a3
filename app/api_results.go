package app

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// maxResultsBody bounds an uploaded result file.
const maxResultsBody = 25 << 20

// ResultsUpload is the JSON form of POST /api/results. The raw form sends
// the file as the body (Content-Type application/xml, text/xml,
// application/json for go test -json streams, application/x-ndjson or
// application/octet-stream) with the same fields as query parameters.
type ResultsUpload struct {
	Repository    string `json:"repository"`               // owner/name
	Commit        string `json:"commit"`                   // the commit SHA
	Branch        string `json:"branch"`                   // e.g. main
	RunID         string `json:"run_id"`                   // the other system's run id
	Attempt       int    `json:"attempt,omitempty"`        // its re-run attempt, default 1
	PullRequest   int    `json:"pull_request,omitempty"`   // PR number, if any
	Format        string `json:"format,omitempty"`         // junit or go-test-json; detected when empty
	DefaultBranch string `json:"default_branch,omitempty"` // for a repository Sentinel does not know yet (default main)
	Content       string `json:"content,omitempty"`        // the file (JSON form only)
}

func (s *Server) apiPostResults(w http.ResponseWriter, r *http.Request) {
	actor, ok := s.actor(r, "api")
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sentinel"`)
		s.writeError(w, r, errNeedToken)
		return
	}
	up, body, err := readResultsUpload(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	caps := s.Opts.ResultCaps.OrDefaults()
	if int64(len(body)) > caps.FileBytes {
		s.writeError(w, r, clientError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the results are %s, over the cap of %s per file (SENTINEL_MAX_RESULT_FILE_SIZE)",
			runner.FormatBytes(int64(len(body))), runner.FormatBytes(caps.FileBytes))))
		return
	}
	res, err := parseResults(up.Format, body, caps.Tests)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	repo, err := store.RepositoryByName(ctx, s.DB, up.Repository)
	if errors.Is(err, store.ErrNotFound) {
		repo.ID, err = store.UpsertRepository(ctx, s.DB, store.Repository{FullName: up.Repository, DefaultBranch: up.DefaultBranch})
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var warnings []string
	if w := jobs.CapWarning(res); w != "" {
		warnings = append(warnings, w)
	}
	var runID int64
	var created bool
	err = s.DB.InTx(ctx, func(tx pgx.Tx) error {
		runID, created, err = jobs.RecordExternalRun(ctx, tx, s.River, jobs.ExternalResults{RepositoryID: repo.ID,
			SHA: up.Commit, Branch: up.Branch, PRNumber: up.PullRequest, ExternalID: up.RunID, Attempt: up.Attempt,
			Results: res, Log: body, Warnings: warnings})
		if err != nil || !created {
			return err
		}
		return store.Audit(ctx, tx, actor, "results.upload", "run", runID, map[string]any{
			"repository": up.Repository, "commit": up.Commit, "external_id": up.RunID, "tests": len(res.Tests)})
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusAccepted
	if !created {
		status = http.StatusOK
	}
	c := res.Totals()
	reply := map[string]any{"run_id": runID, "created": created, "format": res.Format,
		"tests": c.Tests, "failed": c.Failed + c.Errored, "url": jobs.RunURL(s.Opts.PublicURL, runID)}
	if len(warnings) > 0 {
		reply["warnings"] = warnings
	}
	writeJSON(w, status, reply)
}

// readResultsUpload reads the JSON envelope or the raw file with query
// parameters, and checks the fields.
func readResultsUpload(r *http.Request) (ResultsUpload, []byte, error) {
	var up ResultsUpload
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	_, hasBearer := bearer(r)
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxResultsBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return up, nil, clientError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the results are larger than %d MiB", maxResultsBody>>20))
		}
		return up, nil, clientError(http.StatusBadRequest, "reading the body: "+err.Error())
	}
	q := r.URL.Query()
	// repo= names the repository as everywhere else; repository= is its
	// older spelling, still accepted.
	repoName := cmp.Or(q.Get("repo"), q.Get("repository"))
	envelope := mt == "application/json" && repoName == ""
	switch {
	case envelope:
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&up); err != nil {
			return up, nil, clientError(http.StatusBadRequest, "invalid JSON body: "+err.Error()+
				" (send {\"repository\", \"commit\", \"branch\", \"run_id\", \"content\"}, or the raw file with those as query parameters)")
		}
		body = []byte(up.Content)
	case !hasBearer && !rawResultTypes[mt] && !checkCSRF(r):
		// A form on another site can only send form and text types.
		return up, nil, clientError(http.StatusUnsupportedMediaType,
			"send the file with Content-Type application/xml or application/x-ndjson, or a JSON envelope with Content-Type application/json")
	default:
		up = ResultsUpload{Repository: repoName, Commit: cmp.Or(q.Get("commit"), q.Get("sha")),
			Branch: q.Get("branch"), RunID: cmp.Or(q.Get("run_id"), q.Get("external_id")), Format: q.Get("format"),
			DefaultBranch: q.Get("default_branch")}
		for name, dst := range map[string]*int{"attempt": &up.Attempt, "pull_request": &up.PullRequest} {
			if v := q.Get(name); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return up, nil, clientError(http.StatusBadRequest, name+" must be a positive number")
				}
				*dst = n
			}
		}
	}
	switch {
	case strings.Count(up.Repository, "/") != 1 || strings.HasPrefix(up.Repository, "/") || strings.HasSuffix(up.Repository, "/"):
		return up, nil, clientError(http.StatusBadRequest, "repository must be owner/name")
	case !isHexSHA(up.Commit):
		return up, nil, clientError(http.StatusBadRequest, "commit must be a hexadecimal commit SHA (7 to 64 characters)")
	case up.RunID == "":
		return up, nil, clientError(http.StatusBadRequest, "run_id (the other CI system's run id) is required")
	case up.Attempt < 0:
		return up, nil, clientError(http.StatusBadRequest, "attempt must be positive")
	case len(bytes.TrimSpace(body)) == 0:
		return up, nil, clientError(http.StatusBadRequest, "no results: the file is empty")
	}
	if up.Attempt == 0 {
		up.Attempt = 1
	}
	return up, body, nil
}

var rawResultTypes = map[string]bool{"application/xml": true, "text/xml": true, "application/x-ndjson": true,
	"application/octet-stream": true, "application/json": true}

// parseResults parses a result file in the given or detected format,
// keeping at most maxTests test cases as a step's results are kept.
func parseResults(format string, body []byte, maxTests int) (*triage.Results, error) {
	f := triage.Format(format)
	if format == "" {
		f = triage.DetectFormat(body[:min(len(body), 8192)])
	}
	if f != triage.FormatJUnit && f != triage.FormatGoTestJSON {
		return nil, clientError(http.StatusBadRequest, fmt.Sprintf("unknown results format %q: send JUnit XML or go test -json (format=junit or go-test-json)", format))
	}
	res, err := jobs.ParseResults(bytes.NewReader(body), f, maxTests)
	if err != nil {
		return nil, clientError(http.StatusBadRequest, "the results cannot be parsed: "+err.Error())
	}
	if len(res.Tests) == 0 {
		return nil, clientError(http.StatusBadRequest, "the results contain no test case")
	}
	return res, nil
}

func isHexSHA(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
