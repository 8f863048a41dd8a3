// Command wc prints line and word counts of its standard input and the five most frequent words.
package main

import (
	"fmt"
	"os"

	"example.com/sentinel-samples/success/textstats"
)

func main() {
	c, err := textstats.Count(os.Stdin, 5)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wc:", err)
		os.Exit(1)
	}
	fmt.Printf("%d lines, %d words\n", c.Lines, c.Words)
	for _, w := range c.Top {
		fmt.Printf("%6d %s\n", w.Count, w.Word)
	}
}
