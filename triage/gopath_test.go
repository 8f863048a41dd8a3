package triage

import "testing"

func TestPathsResolve(t *testing.T) {
	t.Parallel()
	files := map[string]bool{"store.go": true, "internal/cart/cart.go": true, "internal/cart/cart_test.go": true, "tools/gen/main.go": true}
	checkout := Paths{Exists: func(rel string) bool { return files[rel] }}
	modules := Paths{GoModules: map[string]string{"github.com/acme/shop": "", "github.com/acme/shop/tools": "tools"}}
	tests := []struct {
		name       string
		paths      Paths
		file, pkg  string
		want       string
		wantPlaced bool
	}{
		{"runner workspace", Paths{}, "/workspace/internal/cart/cart.go", "", "internal/cart/cart.go", true},
		{"other root", Paths{Roots: []string{"/home/runner/work/shop/shop"}}, "/home/runner/work/shop/shop/store.go", "", "store.go", true},
		{"unknown root, the package's own file", Paths{}, "/home/runner/work/shop/shop/internal/cart/cart.go", "github.com/acme/shop/internal/cart", "internal/cart/cart.go", true},
		{"unknown root, another package's file", Paths{}, "/home/runner/work/shop/shop/internal/db/db.go", "github.com/acme/shop/internal/cart", "", false},
		{"unknown root, no checkout", Paths{}, "/home/runner/work/shop/shop/store.go", "", "", false},
		{"GOPATH found in checkout", checkout, "/go/src/github.com/acme/shop/internal/cart/cart.go", "", "internal/cart/cart.go", true},
		{"module cache", checkout, "/go/pkg/mod/github.com/x/y@v1.0.0/y.go", "", "", false},
		{"GOROOT not in checkout", checkout, "/usr/local/go/src/testing/testing.go", "", "", false},
		{"package-relative in checkout", checkout, "cart_test.go", "github.com/acme/shop/internal/cart", "internal/cart/cart_test.go", true},
		{"package-relative, modules", modules, "cart_test.go", "github.com/acme/shop/internal/cart", "internal/cart/cart_test.go", true},
		{"nested module", modules, "main.go", "github.com/acme/shop/tools/gen", "tools/gen/main.go", true},
		{"package-relative, nothing known", Paths{}, "cart_test.go", "github.com/acme/shop/internal/cart", "cart_test.go", true},
		{"compiler relative path", checkout, "./internal/cart/cart.go", "", "internal/cart/cart.go", true},
		{"missing in checkout", checkout, "internal/cart/gone.go", "", "", false},
		{"trimpath, modules", modules, "github.com/acme/shop/tools/gen/main.go", "", "tools/gen/main.go", true},
		{"trimpath, checkout", checkout, "github.com/acme/shop/internal/cart/cart.go", "", "internal/cart/cart.go", true},
		{"trimpath, forge guess", Paths{}, "github.com/acme/shop/v2/internal/cart/cart.go", "", "internal/cart/cart.go", true},
		{"escapes the repository", Paths{}, "../../etc/passwd.go", "", "", false},
		{"escapes the workspace", Paths{}, "/workspace/../etc/x.go", "", "", false},
	}
	for _, tt := range tests {
		got, ok := tt.paths.Resolve(tt.file, tt.pkg)
		if got != tt.want || ok != tt.wantPlaced {
			t.Errorf("%s: Resolve(%q, %q) = %q, %v; want %q, %v", tt.name, tt.file, tt.pkg, got, ok, tt.want, tt.wantPlaced)
		}
	}
}

func TestGoFrameIsStd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fn, file string
		std      bool
	}{
		{"testing.tRunner(0xc000, 0x592e58)", "/usr/local/go/src/testing/testing.go", true},
		{"net/http.(*conn).serve(0xc0001)", "/opt/hostedtoolcache/go/1.22.1/x64/src/net/http/server.go", true},
		{"panic({0x55a7a0?, 0x6cae30?})", "/usr/local/go/src/runtime/panic.go", true},
		{"example.com/panic.(*Cache).Put(...)", "/workspace/store.go", false},
		{"myapp/internal/x.F()", "/workspace/internal/x/x.go", false}, // a module path without a dot
		{"github.com/x/y.F()", "/root/go/pkg/mod/github.com/x/y@v1.0.0/y.go", true},
		{"testing.tRunner(0xc000, 0x592e58)", "testing/testing.go", true}, // -trimpath
		{"time.Sleep(0x4a817c800)", "/usr/lib/go/src/runtime/time.go", true},
	}
	for _, tt := range tests {
		if got := (goFrame{fn: tt.fn, file: tt.file}).isStdFrame(); got != tt.std {
			t.Errorf("%s at %s: std = %v, want %v", tt.fn, tt.file, got, tt.std)
		}
	}
}
