#!/usr/bin/env bash
# Regenerates the generated pairs of testdata/pairs: each case is a small
# project in a passing and a broken version; the real tool runs on both on
# this machine and wrap.py wraps its output as a CI runner prints it. The
# error lines of each failing log are marked in marks.json and written to
# NAME.want.json by mark.py. Run from this folder: ./gen.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$(dirname "$here")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run NAME STYLE "COMMAND": runs COMMAND in $work/NAME/pass and .../fail.
run() {
	local name=$1 style=$2 cmd=$3 side code
	for side in pass fail; do
		(cd "$work/$name/$side" && bash -o pipefail -c "$cmd") >"$work/$name/$side.raw" 2>&1
		code=$?
		sed -i "s#$work/$name/$side#{TMP}#g" "$work/$name/$side.raw"
		python3 "$here/wrap.py" "$style" "$name-$side" "$name" "$cmd" "$work/$name/$side.raw" "$code" >"$out/$name.$side.log"
		echo "$name $side exit $code"
	done
}

# both NAME FILE: writes stdin to FILE in both versions of NAME.
both() { mkdir -p "$work/$1/pass" "$work/$1/fail"; tee "$work/$1/pass/$2" >"$work/$1/fail/$2"; }
# side NAME pass|fail FILE: writes stdin to FILE in one version.
side() { mkdir -p "$work/$1/$2/$(dirname "$3")"; cat >"$work/$1/$2/$3"; }

gomod() { printf 'module example.com/%s\n\ngo 1.22\n' "$1" | both "$1" go.mod; }

# --- Go --------------------------------------------------------------
gomod go-build-undefined
cat <<'G' | both go-build-undefined util.go
package main

// Deprecated: use Sum.
func Add(a, b int) int { return a + b }
func Sum(xs ...int) (n int) {
	for _, x := range xs {
		n += x
	}
	return n
}
G
printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println(Sum(1, 2)) }\n' | side go-build-undefined pass main.go
printf 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println(Total(1, 2))\n\tvar s string = Sum(3)\n\tfmt.Println(s)\n}\n' | side go-build-undefined fail main.go
run go-build-undefined gha 'echo "go: downloading golang.org/x/sys v0.$((RANDOM%30)).0"; go build -v -o /dev/null ./...'

gomod go-vet-printf
printf 'package report\n\nimport "fmt"\n\nfunc Line(name string, n int) string {\n\treturn fmt.Sprintf("%%s: %%d errors", name, n)\n}\n' | side go-vet-printf pass report.go
printf 'package report\n\nimport "fmt"\n\nfunc Line(name string, n int) string {\n\treturn fmt.Sprintf("%%s: %%d errors", name)\n}\n\nfunc Warn(err error) string {\n\treturn fmt.Sprintf("warning: %%d", err)\n}\n' | side go-vet-printf fail report.go
run go-vet-printf gitlab 'go vet ./... && echo "vet: no problems found"'

gomod go-test-assert
cat <<'G' | both go-test-assert price.go
package price

import "log"

func Round(cents int) int {
	log.Printf("error budget: 0 of %d requests failed", cents)
	return cents / 5 * 5
}
G
cat <<'G' | side go-test-assert pass price_test.go
package price

import "testing"

func TestRound(t *testing.T) {
	if got := Round(12); got != 10 {
		t.Errorf("Round(12) = %d, want 10", got)
	}
}

func TestRoundError(t *testing.T) { t.Log("no error expected here") }
G
cat <<'G' | side go-test-assert fail price_test.go
package price

import "testing"

func TestRound(t *testing.T) {
	if got := Round(12); got != 10 {
		t.Errorf("Round(12) = %d, want 10", got)
	}
	if got := Round(13); got != 15 {
		t.Errorf("Round(13) = %d, want 15", got)
		t.Errorf("rounding must go to the nearest multiple of 5")
	}
}

func TestRoundError(t *testing.T) { t.Log("no error expected here") }
G
run go-test-assert gha 'go test -count=1 -v ./...'

gomod go-test-panic
cat <<'G' | both go-test-panic cache.go
package cache

type Cache struct{ m map[string]int }

func (c *Cache) Put(k string, v int) { c.m[k] = v }
func New() *Cache                   { return &Cache{m: map[string]int{}} }
G
printf 'package cache\n\nimport "testing"\n\nfunc TestPut(t *testing.T) {\n\tc := New()\n\tc.Put("a", 1)\n}\n' | side go-test-panic pass cache_test.go
printf 'package cache\n\nimport "testing"\n\nfunc TestPut(t *testing.T) {\n\tc := &Cache{}\n\tc.Put("a", 1)\n}\n' | side go-test-panic fail cache_test.go
run go-test-panic jenkins 'go test -count=1 ./...'

gomod go-build-types
printf 'package conv\n\nimport "strconv"\n\nfunc Parse(s string) (int, error) { return strconv.Atoi(s) }\n' | side go-build-types pass conv.go
printf 'package conv\n\nimport (\n\t"os"\n\t"strconv"\n)\n\nfunc Parse(s string) int { return strconv.Atoi(s) }\n\nfunc Twice(s string) string { n, _ := Parse(s); return n * 2 }\n' | side go-build-types fail conv.go
run go-build-types gitlab 'go build ./... && go test -count=1 ./...'

# --- C / make ---------------------------------------------------------
cat <<'M' | both c-undeclared Makefile
CFLAGS = -Wall -O2
app: main.o util.o
	$(CC) -o $@ $^
%.o: %.c
	$(CC) $(CFLAGS) -c $<
M
printf 'int twice(int x) { return 2 * x; }\n' | both c-undeclared util.c
printf '#include <stdio.h>\nint twice(int);\nint main(void) {\n\tint total = twice(21);\n\tprintf("%%d\\n", total);\n\treturn 0;\n}\n' | side c-undeclared pass main.c
printf '#include <stdio.h>\nint twice(int);\nint main(void) {\n\tint total = twice(21);\n\tprintf("%%d\\n", totl);\n\treturn 0;\n}\n' | side c-undeclared fail main.c
run c-undeclared gha 'make app'

cat <<'M' | both c-link-undefined Makefile
app: main.c util.c
	cc -o app main.c util.c
M
printf 'int twice(int x) { return 2 * x; }\n' | side c-link-undefined pass util.c
printf 'int twice(int x) { return 2 * x; }\nint thrice(int x);\n' | side c-link-undefined fail util.c
printf 'int twice(int);\nint main(void) { return twice(0); }\n' | side c-link-undefined pass main.c
printf 'int twice(int);\nint thrice(int);\nint main(void) { return twice(0) + thrice(0); }\n' | side c-link-undefined fail main.c
run c-link-undefined jenkins 'make'

cat <<'M' | both c-assert Makefile
check: test_ring
	./test_ring
test_ring: test_ring.c
	cc -o $@ $<
M
printf '#include <assert.h>\n#include <stdio.h>\nstatic int size(int n) { return n %% 8; }\nint main(void) {\n\tprintf("ring: 3 tests\\n");\n\tassert(size(9) == 1);\n\tassert(size(8) == 0);\n\tprintf("ring: ok\\n");\n\treturn 0;\n}\n' | side c-assert pass test_ring.c
printf '#include <assert.h>\n#include <stdio.h>\nstatic int size(int n) { return n %% 7; }\nint main(void) {\n\tprintf("ring: 3 tests\\n");\n\tassert(size(9) == 1);\n\tassert(size(8) == 0);\n\tprintf("ring: ok\\n");\n\treturn 0;\n}\n' | side c-assert fail test_ring.c
run c-assert gitlab 'make check'

printf 'all:\n\tcc -Wall -Werror -c lib.c\n' | both c-werror Makefile
printf '#include <stdio.h>\nint show(const char *s) {\n\tprintf("%%s\\n", s);\n\treturn 0;\n}\n' | side c-werror pass lib.c
printf '#include <stdio.h>\nint show(const char *s) {\n\tint unused;\n\tprintf("%%d\\n", s);\n\treturn 0;\n}\n' | side c-werror fail lib.c
run c-werror gha 'make'

printf 'app: main.o util.o\n\tcc -o $@ $^\n' | both c-no-rule Makefile
printf 'int main(void){return 0;}\n' | both c-no-rule main.c
printf 'int u;\n' | side c-no-rule pass util.c
run c-no-rule jenkins 'make'

# --- Python -----------------------------------------------------------
cat <<'P' | both py-unittest-assert money.py
import warnings

def refund(amount):
    warnings.warn("refund() rounds half-up; use refund_exact()", DeprecationWarning, stacklevel=2)
    return round(amount, 2)
P
cat <<'P' | side py-unittest-assert pass test_money.py
import unittest
from money import refund

class RefundTest(unittest.TestCase):
    def test_rounds(self):
        self.assertEqual(refund(9.994), 9.99)

    def test_error_path(self):
        with self.assertRaises(TypeError):
            refund("x")

if __name__ == "__main__":
    unittest.main()
P
cat <<'P' | side py-unittest-assert fail test_money.py
import unittest
from money import refund

class RefundTest(unittest.TestCase):
    def test_rounds(self):
        self.assertEqual(refund(9.994), 9.99)
        self.assertEqual(refund(2.675), 2.68, "half-cent must round up")

    def test_error_path(self):
        with self.assertRaises(TypeError):
            refund("x")

if __name__ == "__main__":
    unittest.main()
P
run py-unittest-assert gha 'python3 -W always -m unittest -v'

printf 'def load(cfg):\n    return cfg["port"]\n' | both py-unittest-keyerror config.py
printf 'import unittest\nfrom config import load\n\nclass T(unittest.TestCase):\n    def test_load(self):\n        self.assertEqual(load({"port": 80}), 80)\n' | side py-unittest-keyerror pass test_config.py
printf 'import unittest\nfrom config import load\n\nclass T(unittest.TestCase):\n    def test_load(self):\n        self.assertEqual(load({"Port": 80}), 80)\n\n    def test_other(self):\n        self.assertTrue(True)\n' | side py-unittest-keyerror fail test_config.py
run py-unittest-keyerror gitlab 'python3 -m unittest discover -v'

printf 'def ok():\n    return 1\n' | side py-syntax pass app.py
printf 'def ok():\n    return 1\n\ndef broken(x):\n    if x > 1\n        return x\n' | side py-syntax fail app.py
printf 'x = 1\n' | both py-syntax setup_check.py
run py-syntax jenkins 'python3 -m compileall -q . && echo compiled'

# --- shell: curl / wget -----------------------------------------------
mkdir -p "$work/curl-refused/pass" "$work/curl-refused/fail"
printf 'payload\n' >"$work/curl-refused/pass/asset.bin"
run curl-refused gha 'if [ -f asset.bin ]; then echo "Using cached asset.bin"; else curl -fsSL --retry 2 --retry-delay 0 -o asset.bin http://127.0.0.1:9/dist/asset-1.4.2.tar.gz; fi; echo "Downloading tools... 100%"; test -f asset.bin && echo "asset ready"'

mkdir -p "$work/wget-refused/pass" "$work/wget-refused/fail"
printf 'exit 0\n' >"$work/wget-refused/pass/skip"
run wget-refused gitlab 'echo "fetching schema"; if [ -f skip ]; then echo "schema up to date (0 errors)"; else wget -nv -t 1 http://127.0.0.1:9/schema/v2.json -O schema.json; fi'

# --- Rust -------------------------------------------------------------
printf '[package]\nname = "calc"\nversion = "0.1.0"\nedition = "2021"\n' | both rust-mismatch Cargo.toml
printf 'pub fn parse(s: &str) -> u32 {\n    s.len() as u32\n}\n' | side rust-mismatch pass src/lib.rs
printf 'pub fn parse(s: &str) -> u32 {\n    let n: u32 = s;\n    n\n}\n' | side rust-mismatch fail src/lib.rs
run rust-mismatch gha 'CARGO_TARGET_DIR=target cargo build --offline'

printf '[package]\nname = "calc"\nversion = "0.1.0"\nedition = "2021"\n' | both rust-test Cargo.toml
printf 'pub fn add(a: u32, b: u32) -> u32 { a + b }\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() { assert_eq!(super::add(2, 2), 4); }\n    #[test]\n    fn error_case_is_handled() { assert!(super::add(0, 0) == 0); }\n}\n' | side rust-test pass src/lib.rs
printf 'pub fn add(a: u32, b: u32) -> u32 { a + b + 1 }\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() { assert_eq!(super::add(2, 2), 4); }\n    #[test]\n    fn error_case_is_handled() { assert!(super::add(0, 0) == 1); }\n}\n' | side rust-test fail src/lib.rs
run rust-test gitlab 'CARGO_TARGET_DIR=target cargo test --offline'

# --- Node -------------------------------------------------------------
printf 'exports.slug = (s) => s.toLowerCase().replace(/ /g, "-");\n' | side node-test pass slug.js
printf 'exports.slug = (s) => s.toLowerCase().replace(" ", "-");\n' | side node-test fail slug.js
printf 'const test = require("node:test");\nconst assert = require("node:assert");\nconst { slug } = require("./slug");\ntest("slug joins words", () => {\n  assert.strictEqual(slug("Hello Big World"), "hello-big-world");\n});\ntest("slug of error page", () => {\n  assert.strictEqual(slug("Error"), "error");\n});\n' | both node-test slug.test.js
run node-test gha 'node --test --test-reporter=spec'

printf 'const cfg = require("./config.json");\nconsole.log("building", cfg.name);\n' | both node-require build.js
printf '{"name": "widget"}\n' | side node-require pass config.json
run node-require jenkins 'npm_config_loglevel=warn node build.js && echo "build finished"'

# --- Java -------------------------------------------------------------
printf 'public class Greeter {\n    public static String greet(String name) {\n        return "Hello, " + name;\n    }\n}\n' | side java-symbol pass Greeter.java
printf 'public class Greeter {\n    public static String greet(String name) {\n        return "Hello, " + nmae;\n    }\n}\n' | side java-symbol fail Greeter.java
printf 'public class Main {\n    public static void main(String[] a) { System.out.println(Greeter.greet("ci")); }\n}\n' | both java-symbol Main.java
run java-symbol gitlab 'javac -Xlint:deprecation -d out *.java && java -cp out Main'

printf 'import java.util.*;\npublic class OrderTest {\n    public static void main(String[] a) {\n        List<Integer> q = new ArrayList<>(List.of(3, 1, 2));\n        System.out.println("Running OrderTest (3 cases, 0 errors so far)");\n        Collections.sort(q);\n        int first = q.get(0);\n        if (first != %s) throw new IllegalStateException("expected smallest first but got " + first);\n        System.out.println("OrderTest passed");\n    }\n}\n' 1 | side java-exception pass OrderTest.java
printf 'import java.util.*;\npublic class OrderTest {\n    public static void main(String[] a) {\n        List<Integer> q = new ArrayList<>(List.of(3, 1, 2));\n        System.out.println("Running OrderTest (3 cases, 0 errors so far)");\n        q.sort(Comparator.reverseOrder());\n        int first = q.get(0);\n        if (first != 1) throw new IllegalStateException("expected smallest first but got " + first);\n        System.out.println("OrderTest passed");\n    }\n}\n' | side java-exception fail OrderTest.java
run java-exception gha 'javac -d out OrderTest.java && java -cp out OrderTest'

# --- shell: missing command -------------------------------------------
printf '#!/bin/sh\nset -e\necho "generating protobuf stubs"\ncommand -v protoc-gen-widget >/dev/null 2>&1 || echo "protoc-gen-widget not installed, skipping (no error)"\necho done\n' | side sh-not-found pass gen.sh
printf '#!/bin/sh\nset -e\necho "generating protobuf stubs"\nprotoc-gen-widget --out=gen api.proto\necho done\n' | side sh-not-found fail gen.sh
run sh-not-found gitlab 'sh ./gen.sh'

# --- reconstructed from failure logs people pasted into GitHub issues ---
# (issues/NAME.fail.raw, in other words and paths; NAME.pass.raw is a
# plausible passing run of the same step)
while read -r name cmd; do
	for side in pass fail; do
		code=1
		[ $side = pass ] && code=0
		python3 "$here/wrap.py" gha "$name-$side" "$name" "$cmd" "$here/issues/$name.$side.raw" "$code" >"$out/$name.$side.log"
	done
done <<'LIST'
pytest-collect-import python -m pytest
maven-cannot-find-symbol mvn -B verify
LIST

python3 "$here/mark.py" "$here/marks.json" "$out"
