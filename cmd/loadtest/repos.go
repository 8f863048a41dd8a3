package main

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pipeline is every repository's .sentinel.yml: one step that does nothing,
// so that what the load test measures is Sentinel's own work per push.
const pipeline = "image: busybox:stable\nsteps:\n  - name: noop\n    run: \"true\"\n"

//go:embed testdata/push.payload.json
var pushFixture []byte

// lanes are the repository × branch pairs pushes go to, each with its
// commits prepared in advance: push i goes to lane i%len(lanes), with that
// lane's commit i/len(lanes), so that each push supersedes its branch's
// previous run.
type lane struct {
	body    []byte   // the push's payload, shaPlaceholder where the commit goes
	commits []string // SHAs, oldest first
}

// shaPlaceholder stands for the commit in a lane's payload: 40 characters,
// as long as the SHA that replaces it.
var shaPlaceholder = []byte(strings.Repeat("S", 40))

// prepareLanes creates repos bare repositories under root/load, each with
// branches branches of perLane commits of the pipeline, in one git
// fast-import per repository (thousands of commits take a second), and
// returns the lanes with their payloads for clone URLs under gitURL.
func prepareLanes(root, gitURL string, repos, branches, perLane int) ([]lane, error) {
	lanes := make([]lane, repos*branches)
	errs := make(chan error, repos)
	var wg sync.WaitGroup
	for r := range repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("r%02d", r)
			shas, err := fastImport(filepath.Join(root, "load", name+".git"), branches, perLane)
			if err != nil {
				errs <- fmt.Errorf("repository %s: %w", name, err)
				return
			}
			for b := range branches {
				body, err := pushTemplate(name, int64(1000+r), fmt.Sprintf("b%d", b), gitURL+"/load/"+name+".git")
				if err != nil {
					errs <- err
					return
				}
				lanes[r*branches+b] = lane{body: body, commits: shas[b]}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return lanes, <-errs
}

// fastImport creates the bare repository dir holding the given branches,
// each a chain of perLane commits of the pipeline, and returns each
// branch's SHAs.
func fastImport(dir string, branches, perLane int) ([][]string, error) {
	if out, err := exec.Command("git", "init", "-q", "--bare", "--initial-branch=main", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("git init: %v: %s", err, out)
	}
	marks := filepath.Join(dir, "loadtest.marks")
	cmd := exec.Command("git", "-C", dir, "fast-import", "--quiet", "--export-marks="+marks)
	var stream bytes.Buffer
	fmt.Fprintf(&stream, "blob\nmark :1\ndata %d\n%s\n", len(pipeline), pipeline)
	// Mark 2+b*perLane+i is commit i of branch b. Commits after a branch's
	// first keep its tree and differ by their message.
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for b := range branches {
		for i := range perLane {
			msg := fmt.Sprintf("load test push %d of b%d", i, b)
			fmt.Fprintf(&stream, "commit refs/heads/b%d\nmark :%d\ncommitter Load Test <load@sentinel.invalid> %d +0000\ndata %d\n%s\n",
				b, 2+b*perLane+i, when+int64(i), len(msg), msg)
			if i == 0 {
				stream.WriteString("M 100644 :1 .sentinel.yml\n")
			}
			stream.WriteString("\n")
		}
	}
	cmd.Stdin = &stream
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("git fast-import: %v: %s", err, out)
	}
	f, err := os.Open(marks)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	shas := make([][]string, branches)
	for b := range shas {
		shas[b] = make([]string, perLane)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		mark, sha, ok := strings.Cut(strings.TrimPrefix(sc.Text(), ":"), " ")
		n, err := strconv.Atoi(mark)
		if !ok || err != nil {
			return nil, fmt.Errorf("marks file: unexpected line %q", sc.Text())
		}
		if n >= 2 {
			shas[(n-2)/perLane][(n-2)%perLane] = sha
		}
	}
	for b := range shas {
		for i, sha := range shas[b] {
			if len(sha) != 40 {
				return nil, fmt.Errorf("marks file: no commit %d of b%d", i, b)
			}
		}
	}
	return shas, sc.Err()
}

// pushTemplate is GitHub's push payload example with this lane's
// repository, branch and clone URL, and shaPlaceholder for the commit.
func pushTemplate(name string, repoID int64, branch, cloneURL string) ([]byte, error) {
	var p map[string]any
	if err := json.Unmarshal(pushFixture, &p); err != nil {
		return nil, fmt.Errorf("push fixture: %w", err)
	}
	sha := string(shaPlaceholder)
	commit := map[string]any{
		"id": sha, "distinct": true, "message": "load test push",
		"timestamp": "2026-01-01T00:00:00Z", "url": cloneURL,
		"author":    map[string]any{"name": "Load Test", "email": "load@sentinel.invalid", "username": "loadtest"},
		"committer": map[string]any{"name": "Load Test", "email": "load@sentinel.invalid", "username": "loadtest"},
		"added":     []string{}, "removed": []string{}, "modified": []string{"stamp"},
	}
	p["ref"], p["after"], p["created"], p["deleted"] = "refs/heads/"+branch, sha, false, false
	p["head_commit"], p["commits"] = commit, []any{commit}
	repo, ok := p["repository"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("push fixture: no repository object")
	}
	repo["id"], repo["name"], repo["full_name"], repo["clone_url"] = repoID, name, "load/"+name, cloneURL
	if owner, ok := repo["owner"].(map[string]any); ok {
		owner["login"], owner["name"] = "load", "load"
	}
	p["installation"] = map[string]any{"id": 1}
	return json.Marshal(p)
}

// push is the lane's commit i and the payload announcing it.
func (l lane) push(i int) (sha string, body []byte) {
	sha = l.commits[i]
	return sha, bytes.ReplaceAll(l.body, shaPlaceholder, []byte(sha))
}
