// Package textstats counts words and lines in text.
package textstats

import (
	"bufio"
	"io"
	"sort"
	"strings"
	"unicode"
)

// Counts holds what Count found.
type Counts struct {
	Lines int
	Words int
	Top   []WordCount // most frequent words, highest first
}

// WordCount is one word and how often it appeared.
type WordCount struct {
	Word  string
	Count int
}

// Count reads r to the end and returns its line and word counts plus the n most frequent
// words (case-folded, punctuation trimmed). Ties are broken alphabetically so the result is stable.
func Count(r io.Reader, n int) (Counts, error) {
	var c Counts
	freq := map[string]int{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		c.Lines++
		for _, w := range strings.Fields(sc.Text()) {
			w = strings.ToLower(strings.TrimFunc(w, func(r rune) bool {
				return !unicode.IsLetter(r) && !unicode.IsDigit(r)
			}))
			if w == "" {
				continue
			}
			c.Words++
			freq[w]++
		}
	}
	if err := sc.Err(); err != nil {
		return Counts{}, err
	}
	for w, k := range freq {
		c.Top = append(c.Top, WordCount{Word: w, Count: k})
	}
	sort.Slice(c.Top, func(i, j int) bool {
		if c.Top[i].Count != c.Top[j].Count {
			return c.Top[i].Count > c.Top[j].Count
		}
		return c.Top[i].Word < c.Top[j].Word
	})
	if len(c.Top) > n {
		c.Top = c.Top[:n]
	}
	return c, nil
}
