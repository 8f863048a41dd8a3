// Package runner executes one run's steps, knowing nothing of River or
// GitHub: the pipeline file (.sentinel.yml) and, without one, ecosystem
// detection; the checkout of one commit; the Runtime interface with its
// Docker and shell implementations and how one is chosen (NewRuntime,
// InstanceID); the log stream that stores a step's output in chunks with
// secrets masked; the Go modules of a checkout; and the images and git server
// that let it work without a registry or GitHub (the demo, tests).
//
// jobs.RunExecuteWorker drives it for a run.execute job and records what
// happens; the orphan reaper in jobs cleans up through Runtime.Leftovers.
// Tests find helpers in runner/runnertest.
package runner
