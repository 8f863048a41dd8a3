package runner

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// maxGoModules bounds the go.mod files a checkout is searched for: enough
// for any real monorepo, and a repository of generated modules cannot make
// the runner walk and read without end.
const maxGoModules = 500

var errEnoughModules = errors.New("enough modules")

// FindGoModules maps each Go module in a checkout to its directory relative
// to the repository root ("" for the root), so that the bare file names go
// test prints (relative to the package directory) can be placed in
// monorepos and in repositories whose module is not named after them.
// Directories the go command ignores (vendor, testdata, names starting with
// . or _) are not searched. A go.mod without a module line is skipped.
func FindGoModules(fsys fs.FS) (map[string]string, error) {
	mods := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != "." && (name == "vendor" || name == "testdata" || name == "node_modules" ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return fs.SkipDir
			}
			return nil
		}
		if d.Name() != "go.mod" || !d.Type().IsRegular() {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if mod := ModulePath(data); mod != "" {
			dir := path.Dir(p)
			if dir == "." {
				dir = ""
			}
			mods[mod] = dir
		}
		if len(mods) == maxGoModules {
			return errEnoughModules
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnoughModules) {
		return mods, err
	}
	return mods, nil
}

// ModulePath is the module path a go.mod declares, "" if none: the first
// module directive, bare or quoted, with any comment removed.
func ModulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module")
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t' && rest[0] != '"') {
			continue
		}
		rest = strings.TrimSpace(rest)
		if unquoted, err := strconv.Unquote(rest); err == nil {
			return unquoted
		}
		return rest
	}
	return ""
}
