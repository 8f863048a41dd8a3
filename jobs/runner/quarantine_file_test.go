package runner

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestQuarantineFile(t *testing.T) {
	t.Parallel()
	day := func(s string) QuarantineDate {
		d, _ := time.Parse(time.DateOnly, s)
		return QuarantineDate{d}
	}
	entries := []QuarantineEntry{
		{ID: "example.com/b::TestB", Owner: "@team", Reason: "fails 1 run in 4", Expires: day("2027-01-10"), Issue: 12},
		{ID: "example.com/a::TestA"},
	}
	data := RenderQuarantine(entries)
	back, err := ParseQuarantine(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if len(back) != 2 || back[0].ID != "example.com/a::TestA" || back[1].Issue != 12 || !back[1].Expires.Equal(entries[0].Expires.Time) {
		t.Errorf("round trip: %+v\n%s", back, data)
	}
	ids, err := LoadQuarantine(fstest.MapFS{QuarantineFile: {Data: data}}, time.Date(2027, 1, 10, 0, 0, 1, 0, time.UTC))
	if err != nil || strings.Join(ids, " ") != "example.com/a::TestA" {
		t.Errorf("ids after TestB's expiry: %v %v, want only TestA", ids, err)
	}
	if ids, err := LoadQuarantine(fstest.MapFS{}, time.Now()); err != nil || ids != nil {
		t.Errorf("no file: %v %v, want nothing", ids, err)
	}
	for _, bad := range []string{
		"tests: [{id: a, colour: red}]",
		"tests: [{owner: x}]",
		"tests: [{id: a}, {id: a}]",
		"tests: [{id: a, expires: next week}]",
		"tests: {id: a}",
	} {
		_, err := ParseQuarantine([]byte(bad))
		if err == nil || !strings.Contains(err.Error(), QuarantineFile) {
			t.Errorf("%q: %v, want an error naming %s", bad, err, QuarantineFile)
		}
	}
}
