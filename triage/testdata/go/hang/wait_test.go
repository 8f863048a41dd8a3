package wait

import "testing"

func TestQuick(t *testing.T) {}

func TestForever(t *testing.T) {
	Forever(make(chan struct{}))
}

func TestNeverRuns(t *testing.T) {}
