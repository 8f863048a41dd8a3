package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/templates"
	"github.com/sentinel-ci/sentinel/triage"
)

// templateFuncs are pure: they depend on their arguments only (the page's
// Now is passed in), so a page renders the same way twice.
var templateFuncs = template.FuncMap{
	"asset":     assetURL,
	"ago":       ago,
	"dur":       jobs.FormatDuration,
	"durp":      durationPtr,
	"short":     triage.ShortSHA,
	"pct":       percent,
	"rate":      func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"score":     func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"conf":      func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"when":      formatTime,
	"whenp":     func(t *time.Time) string { return formatTimePtr(t) },
	"prettyjs":  prettyJSON,
	"firstln":   triage.FirstLine,
	"add":       func(a, b int) int { return a + b },
	"sortkeys":  sortedKeys,
	"str":       func(v any) string { return fmt.Sprint(v) },
	"stateicon": stateIcon,
	"human":     human,
	"plural":    plural,
	"lost":      lostWords,
	"evmsg":     eventMessage,
}

// human spells a value like red_branch or pull_request as words. It takes
// any string type: states, triggers, kinds and categories are typed.
func human(v any) string { return strings.ReplaceAll(fmt.Sprint(v), "_", " ") }

// stateIcon marks a run or step state, besides its name, with a glyph that
// common fonts have.
func stateIcon(state any) string {
	switch s := state.(type) {
	case store.RunState:
		return runStateIcons[s]
	case triage.StepState:
		return stepStateIcons[s]
	}
	return ""
}

var runStateIcons = map[store.RunState]string{store.RunSucceeded: "✔", store.RunFailed: "✖", store.RunTimedOut: "◷",
	store.RunErrored: "⚠", store.RunCancelled: "⊘", store.RunRunning: "●", store.RunQueued: "○", store.RunAwaitingApproval: "◇"}

var stepStateIcons = map[triage.StepState]string{triage.StepSucceeded: "✔", triage.StepFailed: "✖", triage.StepTimedOut: "◷",
	triage.StepErrored: "⚠", triage.StepCancelled: "⊘", triage.StepRunning: "●", triage.StepPending: "○", triage.StepSkipped: "–"}

// assetVersions maps each static file to a hash of its content, so that a
// new binary's assets get new URLs and old ones can be cached forever.
var assetVersions = func() map[string]string {
	out := map[string]string{}
	fs.WalkDir(templates.Static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templates.Static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out
}()

func assetURL(name string) string { return "/static/" + name + "?v=" + assetVersions[name] }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// ago says how long before now t was, coarsely.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	suffix := " ago"
	if d < 0 {
		d, suffix = -d, " from now"
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm%s", int(d.Minutes()), suffix)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%s", int(d.Hours()), suffix)
	default:
		return fmt.Sprintf("%dd%s", int(d.Hours()/24), suffix)
	}
}

// durationPtr is the time between two optional instants; "–" while either is unknown.
func durationPtr(start, end *time.Time) string {
	if start == nil || end == nil {
		return "–"
	}
	return jobs.FormatDuration(end.Sub(*start))
}

func percent(part, whole int) string {
	if whole == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(part)/float64(whole))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return "–"
	}
	return formatTime(*t)
}

// prettyJSON indents a JSON document for display; anything else is shown as is.
func prettyJSON(raw []byte) string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return string(raw)
	}
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
