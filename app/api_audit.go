package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sentinel-ci/sentinel/store"
)

// apiAuditEntry is one entry of GET /api/audit.
type apiAuditEntry struct {
	ID        int64          `json:"id"`
	Actor     string         `json:"actor"`
	Action    string         `json:"action"`
	Object    string         `json:"object"` // "run:41907", or "" when the entry has none
	Details   map[string]any `json:"details"`
	CreatedAt time.Time      `json:"created_at"`
}

// auditObject names an entry's subject as the object filter takes it.
func auditObject(e store.AuditEntry) string {
	switch {
	case e.SubjectType == "":
		return ""
	case e.SubjectID == 0:
		return e.SubjectType
	}
	return e.SubjectType + ":" + strconv.FormatInt(e.SubjectID, 10)
}

// auditFilterFromQuery reads actor, kind, object ("run" or "run:41907"),
// limit and cursor, shared by the page and the API.
func auditFilterFromQuery(q url.Values) (store.AuditFilter, error) {
	f := store.AuditFilter{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("kind"))}
	if o := strings.TrimSpace(q.Get("object")); o != "" {
		typ, id, hasID := strings.Cut(o, ":")
		f.SubjectType = typ
		if hasID {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil || n <= 0 || typ == "" {
				return f, clientError(http.StatusBadRequest, fmt.Sprintf("object must be a type or type:id such as run:41907, not %q", o))
			}
			f.SubjectID = n
		}
	}
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			return f, clientError(http.StatusBadRequest, fmt.Sprintf("bad cursor %q", c))
		}
		f.Before = n
	}
	f.Limit = 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return f, clientError(http.StatusBadRequest, "limit must be a number from 1 to 500")
		}
		f.Limit = n
	}
	return f, nil
}

// apiListAudit answers GET /api/audit: who did what to which object,
// newest first, filtered by actor, kind and object, a page at a time.
func (s *Server) apiListAudit(w http.ResponseWriter, r *http.Request) {
	f, err := auditFilterFromQuery(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := store.SearchAudit(r.Context(), s.DB, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]apiAuditEntry, 0, len(list))
	last := ""
	for _, e := range list {
		d := e.Details
		if d == nil {
			d = map[string]any{}
		}
		out = append(out, apiAuditEntry{ID: e.ID, Actor: e.Actor, Action: e.Action, Object: auditObject(e), Details: d, CreatedAt: e.CreatedAt})
		last = strconv.FormatInt(e.ID, 10)
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out, "next_cursor": nextCursor(len(list), f.Limit, last)})
}

// auditRow is one entry as the audit page shows it.
type auditRow struct {
	store.AuditEntry
	Object  string
	Link    string // the object's page, when it has one
	Details string // key=value pairs, in key order
}

type auditView struct {
	page
	Rows                []auditRow
	Actor, Kind, Object string
	Next                string // query of the next page, "" on the last
}

// handleAudit shows the audit log: every action a person, the API or a
// worker took, with filters and a link to the next page.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := auditView{page: s.newPage(w, r, "Audit log", "audit"), Actor: q.Get("actor"), Kind: q.Get("kind"), Object: q.Get("object")}
	f, err := auditFilterFromQuery(q)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	list, err := store.SearchAudit(r.Context(), s.DB, f)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, e := range list {
		row := auditRow{AuditEntry: e, Object: auditObject(e), Details: auditDetailsText(e.Details)}
		switch e.SubjectType {
		case "run", "incident", "cluster":
			row.Link = fmt.Sprintf("/%ss/%d", e.SubjectType, e.SubjectID)
		case "test":
			row.Link = fmt.Sprintf("/tests/%d", e.SubjectID)
		}
		if e.SubjectID == 0 {
			row.Link = ""
		}
		v.Rows = append(v.Rows, row)
	}
	if len(list) == f.Limit && len(list) > 0 {
		nq := url.Values{}
		for k, val := range map[string]string{"actor": v.Actor, "kind": v.Kind, "object": v.Object} {
			if val != "" {
				nq.Set(k, val)
			}
		}
		nq.Set("cursor", strconv.FormatInt(list[len(list)-1].ID, 10))
		v.Next = nq.Encode()
	}
	s.render(w, r, http.StatusOK, "audit", v)
}

// auditDetailsText is an entry's details as "key=value" pairs in key order.
func auditDetailsText(d map[string]any) string {
	parts := make([]string, 0, len(d))
	for _, k := range sortedKeys(d) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, d[k]))
	}
	return strings.Join(parts, " · ")
}
