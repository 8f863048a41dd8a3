package triage

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// labelledLines reads one system of testdata/templates: template ids and lines.
func labelledLines(t testing.TB, path string) (ids, lines []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		id, line, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("%s: line without a template id: %q", path, sc.Text())
		}
		ids = append(ids, id)
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids, lines
}

// groupingAccuracy is the log-parsing benchmarks' grouping accuracy: the
// share of lines whose predicted group holds exactly the lines of their
// true template.
func groupingAccuracy(truth, predicted []string) float64 {
	if len(truth) == 0 {
		return 0
	}
	truthSize := map[string]int{}
	for _, t := range truth {
		truthSize[t]++
	}
	type group struct {
		size    int
		truth   string
		unmixed bool
	}
	groups := map[string]*group{}
	for i, p := range predicted {
		g, ok := groups[p]
		if !ok {
			g = &group{truth: truth[i], unmixed: true}
			groups[p] = g
		}
		g.size++
		if g.truth != truth[i] {
			g.unmixed = false
		}
	}
	correct := 0
	for _, g := range groups {
		if g.unmixed && g.size == truthSize[g.truth] {
			correct += g.size
		}
	}
	return float64(correct) / float64(len(truth))
}

// perLineFingerprints groups by each line's own fingerprint, with no
// learning across lines.
func perLineFingerprints(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = Fingerprint(CategoryUnknown, Normalize(l), "")
	}
	return out
}

// minedFingerprints learns templates from all the lines first, then
// fingerprints each line by the template it matches, as the fingerprint
// command does.
func minedFingerprints(lines []string) []string {
	m := NewTemplateMiner(MinerOptions{})
	norm := make([]string, len(lines))
	for i, l := range lines {
		norm[i] = Normalize(l)
		m.Add(CategoryUnknown, norm[i])
	}
	out := make([]string, len(lines))
	for i, n := range norm {
		out[i] = m.Fingerprint(CategoryUnknown, n, "")
	}
	return out
}

// TestGroupingAccuracy measures how well fingerprints group the labelled
// corpus, per system and on average, and fails below the floors reached.
// go test -run TestGroupingAccuracy -v ./triage/ prints the table.
func TestGroupingAccuracy(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("testdata", "templates", "*.log"))
	if len(files) == 0 {
		t.Fatal("no labelled corpus under testdata/templates")
	}
	methods := []struct {
		name            string
		group           func([]string) []string
		floorAvg, floor float64
	}{
		{"per-line", perLineFingerprints, 0.2, 0},
		{"mined", minedFingerprints, 0.98, 0.9},
	}
	for _, m := range methods {
		sum := 0.0
		for _, f := range files {
			ids, lines := labelledLines(t, f)
			acc := groupingAccuracy(ids, m.group(lines))
			sum += acc
			t.Logf("%-10s %-10s %.3f", m.name, strings.TrimSuffix(filepath.Base(f), ".log"), acc)
			if acc < m.floor {
				t.Errorf("%s on %s: grouping accuracy %.3f, floor %.2f", m.name, f, acc, m.floor)
			}
		}
		avg := sum / float64(len(files))
		t.Logf("%-10s %-10s %.3f", m.name, "average", avg)
		if avg < m.floorAvg {
			t.Errorf("%s: average grouping accuracy %.3f, floor %.2f", m.name, avg, m.floorAvg)
		}
	}
}
