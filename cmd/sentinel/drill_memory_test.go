package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/store/storetest"
)

// Drill c: 40 parallel 24 MiB posts to /webhooks/github of a real serve
// process, unsigned and then with a well-formed but wrong signature (which
// makes serve read the body, within its body budget). serve's resident
// memory (VmRSS) must stay under 300 MB throughout.
func TestDrillWebhookMemory(t *testing.T) {
	const limit = 300 << 20
	posts, rounds := 40, drillSize(3, 1)
	d := newDrill(t, storetest.URL(t))
	serve := d.start("serve")
	body := bytes.Repeat([]byte("x"), 24<<20)
	before := vmRSS(t, serve.pid())

	var peak int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if rss := vmRSS(t, serve.pid()); rss > peak {
				peak = rss
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	client := &http.Client{Timeout: 2 * time.Minute}
	for _, kind := range []string{"unsigned", "forged signature"} {
		codes := map[string]int{}
		var mu sync.Mutex
		start := time.Now()
		for range rounds {
			var wg sync.WaitGroup
			for i := range posts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest("POST", "http://"+serve.addr+"/webhooks/github", bytes.NewReader(body))
					req.Header.Set("X-GitHub-Event", "push")
					req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("mem-%d", i))
					if kind != "unsigned" {
						req.Header.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
					}
					code := "no answer"
					if resp, err := client.Do(req); err == nil {
						resp.Body.Close()
						code = strconv.Itoa(resp.StatusCode)
					}
					mu.Lock()
					codes[code]++
					mu.Unlock()
				}()
			}
			wg.Wait()
		}
		t.Logf("drill webhook memory: %d×%d %s 24 MiB posts in %v: answers %v", rounds, posts, kind, time.Since(start).Round(time.Millisecond), codes)
		if codes["202"] > 0 || codes["200"] > 0 {
			t.Errorf("%s posts accepted: %v", kind, codes)
		}
	}
	time.Sleep(2 * time.Second)
	close(stopSampling)
	<-sampled
	after := vmRSS(t, serve.pid())
	t.Logf("drill webhook memory: serve VmRSS before %d MB, peak %d MB, after %d MB (limit %d MB)", before>>20, peak>>20, after>>20, limit>>20)
	if peak >= limit {
		t.Errorf("serve's RSS peaked at %d MB, want under %d MB", peak>>20, limit>>20)
	}
	if serve.exited() {
		t.Errorf("serve exited:\n%s", serve.logs)
	}
}

// vmRSS reads a process's resident memory in bytes.
func vmRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
