package githubtest

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// Violation is one way a request broke GitHub's OpenAPI description (or one
// of the documented limits the description only states in prose).
type Violation struct {
	Method    string
	Path      string
	Operation string
	Problem   string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s %s (%s): %s", v.Method, v.Path, v.Operation, v.Problem)
}

// Spec is a loaded OpenAPI description with its operations ready to match.
type Spec struct {
	doc *openapi3.T
	ops []specOp
}

type specOp struct {
	method  string
	re      *regexp.Regexp
	names   []string // path parameter names in order
	op      *openapi3.Operation
	pathRaw string
}

// ParseSpec reads and checks an OpenAPI 3.0 document with kin-openapi; name
// is only for messages.
func ParseSpec(data []byte, name string) (*Spec, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("loading OpenAPI description %s: %w", name, err)
	}
	s := &Spec{doc: doc}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths.Value(p)
		for method, op := range item.Operations() {
			pattern, names := templateRegexp(p, multiSegment(op))
			s.ops = append(s.ops, specOp{method: method, re: pattern, names: names, op: op, pathRaw: p})
		}
	}
	if len(s.ops) == 0 {
		return nil, fmt.Errorf("OpenAPI description %s has no operations", name)
	}
	return s, nil
}

var paramRe = regexp.MustCompile(`\{([^}/]+)\}`)

func templateRegexp(p string, multi map[string]bool) (*regexp.Regexp, []string) {
	var names []string
	quoted := regexp.QuoteMeta(p)
	// QuoteMeta escapes the braces; match the escaped form.
	expr := regexp.MustCompile(`\\\{([^}/\\]+)\\\}`).ReplaceAllStringFunc(quoted, func(m string) string {
		name := paramRe.FindStringSubmatch(strings.ReplaceAll(m, `\`, ""))[1]
		names = append(names, name)
		if multi[name] {
			return `(.+)` // a file path or a ref such as heads/feature
		}
		return `([^/]+)`
	})
	return regexp.MustCompile("^" + expr + "$"), names
}

// multiSegment names the path parameters of op marked x-multi-segment.
func multiSegment(op *openapi3.Operation) map[string]bool {
	out := map[string]bool{}
	for _, ref := range op.Parameters {
		if ref.Value != nil && ref.Value.In == "path" && ref.Value.Extensions["x-multi-segment"] == true {
			out[ref.Value.Name] = true
		}
	}
	return out
}

// openAPISubset is GitHub's OpenAPI description of the calls Sentinel makes,
// copied from @octokit/openapi (testdata/SOURCES.md). Embedded, so the fake
// works from any working directory and a clone needs nothing beside it.
//
//go:embed testdata/openapi-subset.json
var openAPISubset []byte

var (
	githubSpecOnce sync.Once
	githubSpec     *Spec
	githubSpecErr  error
)

// GitHubSpec is the embedded OpenAPI subset, loaded once per process. A
// description that does not load fails the test.
func GitHubSpec(t testing.TB) *Spec {
	t.Helper()
	githubSpecOnce.Do(func() { githubSpec, githubSpecErr = ParseSpec(openAPISubset, "openapi-subset.json") })
	if githubSpecErr != nil {
		t.Fatalf("githubtest: %v", githubSpecErr)
	}
	return githubSpec
}

// Check validates one request. Requests for operations the description does
// not contain return nil: only the bodies GitHub describes are judged here.
func (s *Spec) Check(method, path string, query url.Values, contentType string, body []byte) []Violation {
	for _, o := range s.ops {
		if o.method != method {
			continue
		}
		m := o.re.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		var out []Violation
		add := func(format string, args ...any) {
			out = append(out, Violation{Method: method, Path: path, Operation: o.op.OperationID, Problem: fmt.Sprintf(format, args...)})
		}
		params := map[string]string{}
		for i, n := range o.names {
			params[n] = m[i+1]
		}
		for _, ref := range o.op.Parameters {
			p := ref.Value
			var raw string
			var present bool
			switch p.In {
			case "path":
				raw, present = params[p.Name]
			case "query":
				present = query.Has(p.Name)
				raw = query.Get(p.Name)
			default:
				continue
			}
			if !present {
				if p.Required {
					add("missing required %s parameter %q", p.In, p.Name)
				}
				continue
			}
			if err := checkParam(p.Schema, raw); err != nil {
				add("%s parameter %q=%q: %v", p.In, p.Name, raw, err)
			}
		}
		s.checkBody(o, contentType, body, add)
		return out
	}
	return nil
}

func checkParam(ref *openapi3.SchemaRef, raw string) error {
	if ref == nil || ref.Value == nil {
		return nil
	}
	var v any = raw
	if ref.Value.Type.Is("integer") || ref.Value.Type.Is("number") {
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Errorf("not a number")
		}
		v = n
	}
	return ref.Value.VisitJSON(v, openapi3.MultiErrors())
}

func (s *Spec) checkBody(o specOp, contentType string, body []byte, add func(string, ...any)) {
	rb := o.op.RequestBody
	if rb == nil || rb.Value == nil {
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		if rb.Value.Required {
			add("missing required request body")
		}
		return
	}
	if !strings.HasPrefix(contentType, "application/json") {
		add("Content-Type %q, want application/json", contentType)
	}
	media := rb.Value.Content.Get("application/json")
	if media == nil || media.Schema == nil {
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		add("body is not JSON: %v", err)
		return
	}
	if err := media.Schema.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		var me openapi3.MultiError
		if errors.As(err, &me) {
			for _, e := range me {
				add("%s", oneLine(e))
			}
		} else {
			add("%s", oneLine(err))
		}
	}
	for _, p := range proseLimits(o.op.OperationID, v) {
		add("%s", p)
	}
}

// oneLine keeps kin-openapi's first line (where and what), dropping the schema dump.
func oneLine(err error) string {
	msg := err.Error()
	if se := (*openapi3.SchemaError)(nil); errors.As(err, &se) {
		ptr := "/" + strings.Join(se.JSONPointer(), "/")
		return fmt.Sprintf("at %s: %s", ptr, se.Reason)
	}
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	return msg
}

// Validate checks the description itself. Examples are not checked: one
// of GitHub's (a lexical-fallback search result) is abridged and does not
// match its own schema, which says nothing about the requests we judge.
func (s *Spec) Validate() error {
	return s.doc.Validate(context.Background(), openapi3.DisableExamplesValidation())
}
