package triage

import "testing"

func TestResultsFailing(t *testing.T) {
	t.Parallel()
	pass := TestCase{Package: "p", Name: "TestA", Attempt: 1, Outcome: OutcomePass}
	fail := TestCase{Package: "p", Name: "TestA", Attempt: 1, Outcome: OutcomeFail}
	retried := fail
	retried.Attempt, retried.Outcome = 2, OutcomePass
	tests := []struct {
		name string
		r    Results
		want bool
	}{
		{"all pass", Results{Tests: []TestCase{pass}}, false},
		{"a failure", Results{Tests: []TestCase{pass, {Package: "p", Name: "TestB", Attempt: 1, Outcome: OutcomeFail}}}, true},
		{"an error", Results{Tests: []TestCase{{Name: "TestC", Outcome: OutcomeError}}}, true},
		{"passed on retry", Results{Tests: []TestCase{fail, retried}}, false},
		{"build failed", Results{Tests: []TestCase{pass}, Problems: []Problem{{Kind: ProblemBuildFailed}}}, true},
		{"panic", Results{Tests: []TestCase{pass}, Problems: []Problem{{Kind: ProblemPanic}}}, true},
		{"timeout", Results{Tests: []TestCase{pass}, Problems: []Problem{{Kind: ProblemTimeout}}}, true},
		{"a race alone", Results{Tests: []TestCase{pass}, Problems: []Problem{{Kind: ProblemRace}}}, false},
		{"declared JUnit failures", Results{Suites: []Suite{{Tests: 3, Failures: 1}}}, true},
	}
	for _, tt := range tests {
		if got := tt.r.Failing(); got != tt.want {
			t.Errorf("%s: Failing() = %v", tt.name, got)
		}
	}
}
