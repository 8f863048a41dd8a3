package runner

import (
	"fmt"
	"maps"
	"testing"
	"testing/fstest"
)

func TestModulePath(t *testing.T) {
	t.Parallel()
	tests := []struct{ gomod, want string }{
		{"module example.com/a\n\ngo 1.26\n", "example.com/a"},
		{"// comment\nmodule\texample.com/b // trailing\n", "example.com/b"},
		{`module "example.com/quoted"` + "\n", "example.com/quoted"},
		{"go 1.26\nrequire example.com/x v1.0.0\n", ""},
		{"modules example.com/no\n", ""},
		{"module\n", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ModulePath([]byte(tt.gomod)); got != tt.want {
			t.Errorf("ModulePath(%q) = %q, want %q", tt.gomod, got, tt.want)
		}
	}
}

func TestFindGoModules(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"go.mod":                        {Data: []byte("module example.com/mono\n")},
		"services/api/go.mod":           {Data: []byte("module example.com/api\n")},
		"services/api/handlers/h.go":    {Data: []byte("package handlers\n")},
		"tools/go.mod":                  {Data: []byte("module example.com/mono/tools\n")},
		"vendor/example.com/dep/go.mod": {Data: []byte("module example.com/dep\n")},
		"pkg/testdata/mod/go.mod":       {Data: []byte("module example.com/fixture\n")},
		".github/go.mod":                {Data: []byte("module example.com/hidden\n")},
		"_old/go.mod":                   {Data: []byte("module example.com/old\n")},
		"broken/go.mod":                 {Data: []byte("go 1.26\n")},
	}
	got, err := FindGoModules(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"example.com/mono": "", "example.com/api": "services/api", "example.com/mono/tools": "tools"}
	if !maps.Equal(got, want) {
		t.Errorf("FindGoModules = %v, want %v", got, want)
	}

	many := fstest.MapFS{}
	for i := range maxGoModules + 10 {
		many[fmt.Sprintf("m%d/go.mod", i)] = &fstest.MapFile{Data: fmt.Appendf(nil, "module example.com/m%d\n", i)}
	}
	got, err = FindGoModules(many)
	if err != nil || len(got) != maxGoModules {
		t.Errorf("FindGoModules of %d modules: %d kept, %v; want the first %d", len(many), len(got), err, maxGoModules)
	}
}
