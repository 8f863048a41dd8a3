package main

import (
	"cmp"
	"fmt"

	"github.com/sentinel-ci/sentinel/jobs"
)

// resultCapsFromEnv reads SENTINEL_MAX_TEST_RESULTS and
// SENTINEL_MAX_RESULT_FILE_SIZE as serve does, for the commands that read
// result files without a server (triage, flaky): a file is capped the same
// wherever it is read.
func resultCapsFromEnv(getenv func(string) string) (jobs.ResultCaps, error) {
	var c Config
	for _, s := range settings() {
		if s.env != "SENTINEL_MAX_TEST_RESULTS" && s.env != "SENTINEL_MAX_RESULT_FILE_SIZE" {
			continue
		}
		if err := s.parse(&c, cmp.Or(getenv(s.env), s.def)); err != nil {
			return jobs.ResultCaps{}, fmt.Errorf("%s: %w", s.env, err)
		}
	}
	return jobs.ResultCaps{Tests: int(c.MaxTestResults), FileBytes: c.MaxResultFileBytes}.OrDefaults(), nil
}
