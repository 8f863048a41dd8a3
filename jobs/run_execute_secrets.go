package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// openSecrets opens the repository's secrets (and its installation's),
// adds every value to what is masked, and checks that each secret a step
// names is set: an unknown name fails the run as a configuration error
// naming its line. A pull request from a fork gets no value, approved or
// not; its steps run without those variables. failed reports that the run
// ends here with o.
func (ex *execution) openSecrets(ctx context.Context, p *runner.Pipeline) (o outcome, failed bool) {
	var named bool
	for _, s := range p.Steps {
		named = named || len(s.Secrets) > 0
	}
	sealed, err := store.RunSecrets(ctx, ex.w.DB, ex.run.RepositoryID)
	if err != nil {
		return ex.failure(ctx, err), true
	}
	if len(sealed) == 0 && !named {
		return outcome{}, false
	}
	fork := ex.fork
	have := map[string]bool{}
	for _, s := range sealed {
		have[s.Name] = true
	}
	for _, s := range p.Steps {
		for j, name := range s.Secrets {
			if !have[name] {
				return outcome{state: store.RunFailed, category: triage.CategoryConfiguration, err: s.UnknownSecret(j, ex.run.Repository)}, true
			}
		}
	}
	if fork || ex.w.Config.Secrets == nil {
		if named && ex.w.Config.Secrets == nil && !fork {
			return outcome{state: store.RunFailed, category: triage.CategoryConfiguration,
				err: fmt.Errorf("the pipeline names secrets, but this Sentinel has no secret key to open them")}, true
		}
		return outcome{}, false
	}
	needed := map[string]bool{}
	for _, s := range p.Steps {
		for _, name := range s.Secrets {
			needed[name] = true
		}
	}
	ex.stepEnv = map[string]string{}
	for _, s := range sealed {
		v, err := ex.w.Config.Secrets.Open(s.Scope, s.Name, s.Sealed)
		if err != nil && needed[s.Name] {
			return outcome{state: store.RunFailed, category: triage.CategoryConfiguration, err: err}, true
		}
		if err != nil {
			// Sealed under another key and named by no step: nothing to give or mask.
			ex.log.Warn("a secret no step names does not open", "err", err)
			continue
		}
		ex.stepEnv[s.Name] = string(v)
		ex.secrets = append(ex.secrets, string(v))
	}
	return outcome{}, false
}

// fromFork reports whether the run is of a pull request whose code comes
// from another repository: runs.fork, set at intake, or for runs older
// than that column, a head repository other than the base. A deleted
// fork's pull request names the base repository as its head, but it had
// to be approved: any approval of the pull request marks it a fork's.
func (ex *execution) fromFork(ctx context.Context) (bool, error) {
	if ex.run.Fork {
		return true, nil
	}
	if ex.run.PRNumber == 0 {
		return false, nil
	}
	if ex.run.HeadRepo == "" || !strings.EqualFold(ex.run.HeadRepo, ex.run.Repository) {
		return true, nil
	}
	return store.PullRequestApproved(ctx, ex.w.DB, ex.run.RepositoryID, ex.run.PRNumber)
}

// secretEnv is the step's own secrets, as environment variables; none for
// a fork.
func (ex *execution) secretEnv(s runner.Step) map[string]string {
	if ex.fork || ex.stepEnv == nil {
		return nil
	}
	env := make(map[string]string, len(s.Secrets))
	for _, name := range s.Secrets {
		env[name] = ex.stepEnv[name]
	}
	return env
}

// maskResults masks secret values in what a step's test results carry
// into the store, and from there into annotations and summaries.
func maskResults(r *triage.Results, secrets []string) {
	if r == nil || len(secrets) == 0 {
		return
	}
	for i := range r.Tests {
		t := &r.Tests[i]
		t.Package = runner.MaskString(t.Package, secrets)
		t.Name = runner.MaskString(t.Name, secrets)
		t.Parent = runner.MaskString(t.Parent, secrets)
		t.File = runner.MaskString(t.File, secrets)
		t.Message = runner.MaskString(t.Message, secrets)
		t.Output = runner.MaskString(t.Output, secrets)
	}
	for i := range r.NonJSON {
		r.NonJSON[i].Text = runner.MaskString(r.NonJSON[i].Text, secrets)
	}
	for i := range r.Problems {
		pr := &r.Problems[i]
		pr.Message = runner.MaskString(pr.Message, secrets)
		for j := range pr.Output {
			pr.Output[j] = runner.MaskString(pr.Output[j], secrets)
		}
	}
}
