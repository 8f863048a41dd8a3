package triage

import (
	"slices"
	"time"
)

// MaxClusterTests bounds the test identities a cluster summary remembers.
const MaxClusterTests = 20

// ClusterSummary is what a cluster of failures (same fingerprint) records.
// The store keys clusters by repository and Fingerprint and does the
// counting in SQL; Add is the same update for callers that hold a summary
// in memory (tests, the CLI, a replay).
type ClusterSummary struct {
	Fingerprint string    `json:"fingerprint"`
	Category    Category  `json:"category"`
	Title       string    `json:"title"` // the first failure's raw title: people read raw text
	Count       int       `json:"count"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	Tests       []string  `json:"tests,omitempty"` // test identities seen, first MaxClusterTests
}

// NewCluster starts a summary from its first failure, seen at now.
func NewCluster(f Failure, now time.Time) ClusterSummary {
	return ClusterSummary{Fingerprint: f.Fingerprint, Category: f.Category, Title: f.Title}.Add(f, now)
}

// Add returns the summary updated with one more occurrence at now. A
// failure with another fingerprint leaves the summary unchanged.
func (s ClusterSummary) Add(f Failure, now time.Time) ClusterSummary {
	if f.Fingerprint != s.Fingerprint {
		return s
	}
	s.Count++
	if s.FirstSeen.IsZero() || now.Before(s.FirstSeen) {
		s.FirstSeen = now
	}
	if now.After(s.LastSeen) {
		s.LastSeen = now
	}
	if f.TestID != "" && !slices.Contains(s.Tests, f.TestID) && len(s.Tests) < MaxClusterTests {
		s.Tests = append(slices.Clone(s.Tests), f.TestID)
	}
	return s
}
