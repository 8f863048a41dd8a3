package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/sentinel-ci/sentinel/triage"
)

// runFingerprint implements `sentinel fingerprint [--group] [FILE]`. It
// learns message templates from its own input first (triage.TemplateMiner,
// category "unknown"), then reads the input again and prints, per input
// line, the line's fingerprint and template, tab-separated; with --group
// it prints each group instead, most frequent first, as count,
// fingerprint and template. It keeps no state between runs: stdin (no
// FILE, or "-") is spooled to a temporary file for the second pass.
// Exit status: 0 ok, 1 read error, 2 bad usage.
func runFingerprint(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fingerprint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	group := fs.Bool("group", false, "print the groups (count, fingerprint, template), most frequent first")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sentinel fingerprint [--group] [FILE]")
		fmt.Fprintln(stderr, "Learn message templates from the input, then print each line's fingerprint")
		fmt.Fprintln(stderr, "and template, tab-separated (stdin without FILE or with -).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "sentinel fingerprint:", err)
		return 1
	}
	var in *os.File
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		in = f
	} else {
		f, err := spool(stdin)
		if err != nil {
			return fail(err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		in = f
	}

	miner := triage.NewTemplateMiner(triage.MinerOptions{})
	if err := eachLine(in, func(norm string) { miner.Add(triage.CategoryUnknown, norm) }); err != nil {
		return fail(err)
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}

	w := bufio.NewWriter(stdout)
	type groupCount struct {
		fp, text string
		count    int
	}
	var groups []*groupCount
	byFP := map[string]*groupCount{}
	err := eachLine(in, func(norm string) {
		tpl := miner.Match(triage.CategoryUnknown, norm)
		fp := triage.Fingerprint(triage.CategoryUnknown, tpl.Text, "")
		if !*group {
			fmt.Fprintf(w, "%s\t%s\n", fp, tpl.Text)
			return
		}
		g, ok := byFP[fp]
		if !ok {
			g = &groupCount{fp: fp, text: tpl.Text}
			byFP[fp] = g
			groups = append(groups, g)
		}
		g.count++
	})
	if err != nil {
		w.Flush()
		return fail(err)
	}
	if *group {
		// Most frequent first; equal counts in order of first appearance.
		slices.SortStableFunc(groups, func(a, b *groupCount) int { return b.count - a.count })
		for _, g := range groups {
			fmt.Fprintf(w, "%d\t%s\t%s\n", g.count, g.fp, g.text)
		}
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	return 0
}

// eachLine calls f with the normalised form of every line of r.
func eachLine(r io.Reader, f func(norm string)) error {
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		line, err := readLongLine(br, 64*1024)
		if len(line) > 0 || err == nil {
			f(triage.Normalize(line))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// spool copies r to a temporary file, so that it can be read twice.
func spool(r io.Reader) (*os.File, error) {
	f, err := os.CreateTemp("", "sentinel-stdin-*")
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}
