package githubtest

import (
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"
)

// searchQuery is the part of GitHub's issue search syntax the fake understands:
// repo:, is:issue/is:open/is:closed, state:, label:, in:title/in:body, and
// words or "quoted phrases" that must all appear.
type searchQuery struct {
	repo   string
	state  string
	labels []string
	in     []string
	terms  []string
}

func parseSearch(q string) searchQuery {
	var sq searchQuery
	for _, tok := range tokenize(q) {
		key, val, has := strings.Cut(tok, ":")
		if has && !strings.HasPrefix(tok, `"`) {
			val = strings.Trim(val, `"`)
			switch strings.ToLower(key) {
			case "repo":
				sq.repo = strings.ToLower(val)
				continue
			case "is", "state":
				if val == "open" || val == "closed" {
					sq.state = val
				}
				continue
			case "label":
				sq.labels = append(sq.labels, val)
				continue
			case "in":
				sq.in = append(sq.in, strings.Split(val, ",")...)
				continue
			case "type":
				continue
			}
		}
		sq.terms = append(sq.terms, strings.ToLower(strings.Trim(tok, `"`)))
	}
	return sq
}

// tokenize splits on spaces outside double quotes.
func tokenize(q string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range q {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func (sq searchQuery) match(is *Issue) bool {
	if sq.repo != "" && sq.repo != strings.ToLower(is.Repo) {
		return false
	}
	if sq.state != "" && sq.state != is.State {
		return false
	}
	if !hasAllLabels(is.Labels, sq.labels) {
		return false
	}
	var text string
	if len(sq.in) == 0 || contains(sq.in, "title") {
		text += strings.ToLower(is.Title) + "\n"
	}
	if len(sq.in) == 0 || contains(sq.in, "body") {
		text += strings.ToLower(is.Body)
	}
	for _, t := range sq.terms {
		if !strings.Contains(text, t) {
			return false
		}
	}
	return true
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if strings.EqualFold(v, x) {
			return true
		}
	}
	return false
}

// searchIssues answers GET /search/issues.
func (s *Server) searchIssues(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if strings.TrimSpace(q) == "" {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", github.Error{Resource: "Search", Field: "q", Code: "missing"})
		return
	}
	sq := parseSearch(q)
	s.mu.Lock()
	var all []*github.Issue
	for name, rs := range s.repos {
		if sq.repo != "" && sq.repo != name {
			continue
		}
		for i := len(rs.issues) - 1; i >= 0; i-- {
			if sq.match(rs.issues[i]) {
				all = append(all, s.issueJSON(rs.issues[i]))
			}
		}
	}
	s.mu.Unlock()
	page, ok := paginate(w, r, len(all))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(all), "incomplete_results": false, "items": all[page.from:page.to]})
}
