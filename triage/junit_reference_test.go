package triage

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parseJUnitWithDecoder is ParseJUnitMax as it was before xmlScanner:
// encoding/xml's Decoder (Strict, bytes read as UTF-8) driving the same
// junitParser. The scanner must accept, reject and read documents as it
// does; these tests and FuzzJUnitScannerMatchesDecoder compare the two.
func parseJUnitWithDecoder(r io.Reader, maxTests int) (*Results, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	if err := sniffXML(br); err != nil {
		return nil, err
	}
	dec := xml.NewDecoder(&xmlSanitizer{r: br, entity: -1})
	dec.Strict = true
	dec.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	p := &junitParser{res: &Results{Format: "junit"}, attempts: map[string]int{}, max: maxTests}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("junit: line %d: %s", se.Line, se.Msg)
			}
			return nil, fmt.Errorf("junit: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			err = p.startElement(t.Name.Local, decoderAttrs(t.Attr))
		case xml.EndElement:
			p.endElement(t.Name.Local)
		case xml.CharData:
			p.charData(t)
		}
		if err != nil {
			return nil, err
		}
	}
	return p.finish()
}

type decoderAttrs []xml.Attr

func (as decoderAttrs) attr(name string) string {
	for _, a := range as {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// compareWithDecoder fails t when ParseJUnitMax and parseJUnitWithDecoder
// disagree on data: one accepts what the other rejects, or they read
// different results.
func compareWithDecoder(t *testing.T, data []byte, maxTests int) {
	t.Helper()
	got, err := ParseJUnitMax(bytes.NewReader(data), maxTests)
	want, wantErr := parseJUnitWithDecoder(bytes.NewReader(data), maxTests)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("scanner error %v, decoder error %v, on %q", err, wantErr, clipForLog(data))
	}
	if err != nil {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("results differ (-decoder +scanner) on %q:\n%s", clipForLog(data), diff)
	}
}

func clipForLog(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// TestJUnitScannerMatchesDecoderOnFixtures: every real report of the
// fixtures reads the same through the scanner as through encoding/xml.
func TestJUnitScannerMatchesDecoderOnFixtures(t *testing.T) {
	t.Parallel()
	var files []string
	err := filepath.WalkDir(fixtureRoot+"junit-xml", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".xml") {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) < 20 {
		t.Fatalf("%d JUnit fixtures found: %v", len(files), err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(f, func(t *testing.T) { compareWithDecoder(t, data, 0) })
	}
}

// junitEdgeCases are documents that exercise what the scanner implements
// itself: line ends, entities, CDATA, comments, directives, declarations,
// prefixes and the errors of each.
var junitEdgeCases = []string{
	"<testsuite>\r\n<testcase name=\"a\r\nb\rc\"><failure message='m'>x\r\ny\rz\r\r\n</failure></testcase></testsuite>",
	`<testsuite><testcase name="a"><failure><![CDATA[x]]y]]]>z]]></failure><system-out><![CDATA[]]></system-out></testcase></testsuite>`,
	`<testsuite><testcase name="&lt;&gt;&amp;&apos;&quot;&#65;&#x42;&#x1F600;&#xD800;"><error>&#9;&#10;&#13;</error></testcase></testsuite>`,
	`<testsuite><testcase name="a&#0;"/></testsuite>`,
	`<testsuite><testcase name="a&#xFFFE;"/></testsuite>`,
	`<testsuite><testcase name="a&#x110000;"/></testsuite>`,
	`<testsuite><testcase name="a&nbsp;"/></testsuite>`,
	`<testsuite><testcase name="a&amp"/></testsuite>`,
	`<testsuite><testcase name="a&#;"/></testsuite>`,
	`<testsuite><testcase name="a&#X41;"/></testsuite>`,
	`<testsuite><testcase name="a&;"/></testsuite>`,
	`<testsuite><testcase name="a"><failure>]]></failure></testcase></testsuite>`,
	`<testsuite><testcase name="a]]>b"/></testsuite>`,
	`<testsuite><testcase name="a<b"/></testsuite>`,
	`<testsuite><testcase name=a/></testsuite>`,
	`<testsuite><testcase name/></testsuite>`,
	`<testsuite><testcase name="a"b="c"/></testsuite>`,
	`<testsuite><testcase name="a" / ></testsuite>`,
	`<testsuite><testcase name="a"></testcase ></testsuite >`,
	`<testsuite><testcase name="a"></testcase x></testsuite>`,
	`<testsuite><testcase name="a"></testsuite>`,
	`<testsuite></testsuite></testsuite>`,
	`<testsuite><a:testcase b:name="x" xmlns:a="u"></a:testcase></testsuite>`,
	`<testsuite><a:testcase name="x"></b:testcase></testsuite>`,
	`<testsuite><a:b:testcase name="x"/></testsuite>`,
	`<testsuite><:testcase name="x"/><testcase: name="y"/></testsuite>`,
	`<testsuite><1testcase/></testsuite>`,
	`<testsuite><tëstcase name="x"/><testcase nämé="y"/></testsuite>`,
	`<testsuite>< testcase/></testsuite>`,
	`<?xml version="1.1"?><testsuite/>`,
	`<?xml version='1.0' encoding="windows-1252"?><testsuite/>`,
	`<?xml?><?pi some ? data?><testsuite/>`,
	`<? xml?><testsuite/>`,
	`<!DOCTYPE testsuite [<!ENTITY x "y"> <!-- a > comment --> <!ATTLIST a b ">">]><testsuite><testcase name="a"/></testsuite>`,
	`<!DOCTYPE x><!-- c --><testsuite><!-- a -- b --></testsuite>`,
	`<!-x--><testsuite/>`,
	`<![CDATX[x]]><testsuite/>`,
	`<testsuite><testcase name="a"><system-out><![CDATA[unterminated`,
	`<testsuite><testcase name="a"`,
	`<testsuite><testcase name="a"><failure>text`,
	`<testsuite><testcase name="a&`,
	`<testsuite/><testsuite><testcase name="second root"/></testsuite>`,
	`<testsuites><testsuite name="outer"><testsuite name="inner"><testcase classname="c" name="n" time="1,234.5"/></testsuite></testsuite></testsuites>`,
	"<testsuite><testcase name=\"a\"><failure message=\"Failed\">\n=== RUN x\n--- FAIL: x\n    x_test.go:12: want 1\n</failure></testcase></testsuite>",
}

func TestJUnitScannerMatchesDecoderOnEdgeCases(t *testing.T) {
	t.Parallel()
	for _, doc := range junitEdgeCases {
		compareWithDecoder(t, []byte(doc), 0)
	}
	// Text and CDATA longer than a piece, with "]]>" and "\r\n" across
	// the pieces' and the read buffer's boundaries.
	for _, n := range []int{textPiece - 2, textPiece - 1, textPiece, 64<<10 - 3, 64<<10 - 1} {
		pad := strings.Repeat("x", n)
		compareWithDecoder(t, []byte(`<testsuite><testcase name="a"><failure><![CDATA[`+pad+`]]]>`+pad+"\r\n"+pad+`]]></failure></testcase></testsuite>`), 0)
		compareWithDecoder(t, []byte(`<testsuite><testcase name="a"><failure>`+pad+"\r\n&amp;"+pad+`</failure></testcase></testsuite>`), 0)
	}
}

func FuzzJUnitScannerMatchesDecoder(f *testing.F) {
	addSeeds(f, fixtureRoot+"junit-xml/*/*.xml", fixtureRoot+"junit-xml/*/*/*.xml", fixtureRoot+"junit-xml/*/*/*/*.xml")
	for _, doc := range junitEdgeCases {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareWithDecoder(t, data, 0)
	})
}
