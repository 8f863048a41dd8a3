package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// CacheMount is one cache a repository's steps share across steps and
// runs: a named Docker volume (a directory under the shell runtime) seen at
// Target. Env, when set, is the variable that points the tool at Target, so
// that the cache works whatever the image's user and home.
type CacheMount struct {
	Key    string // names the cache within the repository: "go-mod", "path-…"
	Target string // absolute path inside the step's container
	Env    string // variable set to Target ("" for a path from cache:)
}

// CacheRoot is where the default caches appear inside a container.
const CacheRoot = "/sentinel-cache"

// goBuildCache is where a Go repository's build cache appears (GOCACHE);
// LocalImageGo holds a warm one there.
const goBuildCache = CacheRoot + "/go-build"

// Home is the home directory that cache: paths under ~ are resolved to:
// the user official toolchain images run steps as.
const cacheHome = "/root"

// ecosystemCaches are the default caches of each ecosystem, by a file at
// the repository root that shows it.
var ecosystemCaches = []struct {
	files  []string
	caches []CacheMount
}{
	{[]string{"go.mod", "go.work"}, []CacheMount{
		{Key: "go-mod", Target: CacheRoot + "/go-mod", Env: "GOMODCACHE"},
		{Key: "go-build", Target: goBuildCache, Env: "GOCACHE"}}},
	{[]string{"package.json"}, []CacheMount{
		{Key: "npm", Target: CacheRoot + "/npm", Env: "npm_config_cache"},
		{Key: "yarn", Target: CacheRoot + "/yarn", Env: "YARN_CACHE_FOLDER"},
		{Key: "pnpm", Target: CacheRoot + "/pnpm", Env: "npm_config_store_dir"}}},
	{[]string{"requirements.txt", "pyproject.toml", "setup.py", "Pipfile"}, []CacheMount{
		{Key: "pip", Target: CacheRoot + "/pip", Env: "PIP_CACHE_DIR"}}},
	{[]string{"Cargo.toml"}, []CacheMount{
		// Not CARGO_HOME: images keep cargo's own binaries there.
		{Key: "cargo-registry", Target: "/usr/local/cargo/registry"}}},
	{[]string{"pom.xml"}, []CacheMount{
		{Key: "maven", Target: cacheHome + "/.m2"}}},
	{[]string{"build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts"}, []CacheMount{
		{Key: "gradle", Target: CacheRoot + "/gradle", Env: "GRADLE_USER_HOME"}}},
}

// DefaultCaches returns the caches of the ecosystems found at the root of
// fsys; goModules reports Go modules found deeper (a monorepo).
func DefaultCaches(fsys fs.FS, goModules bool) []CacheMount {
	var out []CacheMount
	for i, eco := range ecosystemCaches {
		found := i == 0 && goModules
		for _, f := range eco.files {
			if st, err := fs.Stat(fsys, f); err == nil && !st.IsDir() {
				found = true
			}
		}
		if found {
			out = append(out, eco.caches...)
		}
	}
	return out
}

var cacheKeyUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// pathCache turns a cache: path into its mount: a relative path is in the
// workspace, ~/… in the home directory; anything else is refused.
func pathCache(p string) (CacheMount, error) {
	p = strings.TrimSpace(p)
	var target string
	switch {
	case p == "" || p == "~" || p == "~/" || p == ".":
		return CacheMount{}, fmt.Errorf("cache path %q names no directory", p)
	case strings.HasPrefix(p, "~/"):
		rel := path.Clean(p[2:])
		if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
			return CacheMount{}, fmt.Errorf("cache path %q leaves the home directory", p)
		}
		target = cacheHome + "/" + rel
	case path.IsAbs(p) || strings.HasPrefix(p, "~"):
		return CacheMount{}, fmt.Errorf("cache path %q is outside the workspace and the home directory: use a path relative to the repository, or ~/…", p)
	default:
		rel := path.Clean(p)
		if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || rel == ".git" || strings.HasPrefix(rel, ".git/") {
			return CacheMount{}, fmt.Errorf("cache path %q must stay inside the workspace (and out of .git)", p)
		}
		target = WorkspaceMount + "/" + rel
	}
	sum := sha256.Sum256([]byte(target))
	key := "path-" + strings.Trim(cacheKeyUnsafe.ReplaceAllString(strings.TrimPrefix(target, "/"), "_"), "_")
	if len(key) > 40 {
		key = key[:40]
	}
	return CacheMount{Key: key + "-" + hex.EncodeToString(sum[:4]), Target: target}, nil
}

// CacheVolume names the Docker volume of a cache: per Sentinel instance,
// per scope (a repository, or one run's throwaway copy) and per key.
func CacheVolume(instance, scope, key string) string {
	return "sentinel-cache-" + instance + "-" + scope + "-" + key
}

// CacheStore is what a runtime that keeps caches can measure and remove,
// for the eviction that keeps a repository under its cap.
type CacheStore interface {
	CacheSizes(ctx context.Context, scope string) (map[string]int64, error) // by key, in bytes
	RemoveCache(ctx context.Context, scope, key string) error
}
