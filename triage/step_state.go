package triage

// StepState is where one step of a run stands. The runner sets it, the
// store keeps it (steps.state), the API shows it, and StepFacts carries it
// into the analysis, which is why it is declared here. The values never
// change.
type StepState string

// Step states. A step ends in exactly one of the final ones.
const (
	StepPending   StepState = "pending"
	StepRunning   StepState = "running"
	StepSucceeded StepState = "succeeded"
	StepFailed    StepState = "failed"
	StepTimedOut  StepState = "timed_out"
	StepCancelled StepState = "cancelled"
	StepErrored   StepState = "errored" // the runner or the infrastructure failed, not the step's command
	StepSkipped   StepState = "skipped"
)

// StepStates lists every step state, the unfinished ones first.
var StepStates = []StepState{StepPending, StepRunning, StepSucceeded, StepFailed, StepTimedOut, StepCancelled, StepErrored, StepSkipped}
