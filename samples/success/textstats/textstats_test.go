package textstats

import (
	"reflect"
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		n     int
		lines int
		words int
		top   []WordCount
	}{
		{name: "empty", in: "", n: 3},
		{name: "one line", in: "the cat and the hat", n: 2, lines: 1, words: 5,
			top: []WordCount{{"the", 2}, {"and", 1}}},
		{name: "punctuation and case", in: "Go, go! GO?\nstop.", n: 5, lines: 2, words: 4,
			top: []WordCount{{"go", 3}, {"stop", 1}}},
		{name: "only punctuation", in: "-- ... !!", n: 1, lines: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Count(strings.NewReader(tt.in), tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if got.Lines != tt.lines || got.Words != tt.words {
				t.Errorf("lines, words = %d, %d; want %d, %d", got.Lines, got.Words, tt.lines, tt.words)
			}
			if !reflect.DeepEqual(got.Top, tt.top) {
				t.Errorf("top = %v; want %v", got.Top, tt.top)
			}
		})
	}
}
