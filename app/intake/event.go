package intake

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Event is what the intake needs from a delivery, decoded by ParseEvent.
// Exactly one of the action fields is meaningful for a given Kind.
type Event struct {
	Kind   string // the X-GitHub-Event name
	Action string
	// Ignore is set when the delivery needs no work, with the reason.
	Ignore string

	Installation *EventInstallation
	Repo         *EventRepo

	Run     *EventRun    // push, pull_request: a run to create
	Rerun   *EventRerun  // check_suite / check_run rerequested, requested_action rerun
	Button  *EventButton // check_run requested_action
	Repos   []EventRepo  // installation created / installation_repositories added
	Removed []int64      // installation_repositories removed (GitHub repository ids)
	Zen     string       // ping
	Sender  string
}

// EventInstallation identifies the App installation a delivery came through.
type EventInstallation struct {
	ID           int64
	AccountLogin string
	AccountType  string
}

// EventRepo is a repository as a delivery describes it.
type EventRepo struct {
	GitHubID      int64
	FullName      string
	CloneURL      string
	DefaultBranch string
	Private       bool
}

// EventRun is a commit to run.
type EventRun struct {
	Trigger       string // push or pull_request
	SHA, Ref      string
	Branch        string
	PRNumber      int
	HeadRepo      string
	CloneURL      string // where to fetch the commit (the fork for forked PRs)
	Fork          bool   // a pull request from another repository: needs approval
	CommitMessage string
	Author        string
}

// EventRerun asks for a new attempt of a commit. RunID is Sentinel's run id
// when GitHub tells us (the check run's external_id); otherwise SHA decides.
type EventRerun struct {
	RunID  int64
	SHA    string
	Branch string
}

// EventButton is a requested_action button press on one of our check runs.
type EventButton struct {
	Identifier string
	RunID      int64 // from the check run's external_id
	CheckRunID int64
	SHA        string
}

var lenientJSON = json.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true), json.MatchCaseInsensitiveNames(true))

var skipCI = regexp.MustCompile(`(?i)\[(skip ci|ci skip)\]`)

// ParseEvent decodes a delivery body of the given event type. It is pure: no
// I/O, no clock; an error means the body is malformed for that event.
//
// Only what routing needs is decoded (payload's fields); the rest of the
// body, most of a push's 7 KB, is checked for syntax and skipped in the same
// single pass by the JSON v2 decoder, about four times faster than
// encoding/json, which checks the whole body and then decodes it again. Its
// options keep encoding/json's leniency: invalid UTF-8 is replaced,
// repeated names and names in another case accepted, as GitHub's payloads
// were before.
func ParseEvent(eventType string, body []byte) (*Event, error) {
	var p payload
	if err := json.Unmarshal(body, &p, lenientJSON); err != nil {
		var syntax *jsontext.SyntacticError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("payload is not valid JSON")
		}
		return nil, fmt.Errorf("payload does not match a %s event: %w", eventType, err)
	}
	ev := &Event{Kind: eventType, Action: p.Action, Sender: p.Sender.Login}
	if p.Installation != nil && p.Installation.ID != 0 {
		ev.Installation = &EventInstallation{ID: p.Installation.ID}
		if p.Installation.Account != nil {
			ev.Installation.AccountLogin = p.Installation.Account.Login
			ev.Installation.AccountType = p.Installation.Account.Type
		}
	}
	if p.Repository != nil {
		r := p.Repository.toEvent()
		if r.CloneURL != "" {
			if err := checkCloneURL(r.CloneURL); err != nil {
				return nil, err
			}
		}
		ev.Repo = &r
	}
	switch eventType {
	case "ping":
		ev.Zen = p.Zen
		return ev, nil
	case "push":
		return ev, parsePush(ev, &p)
	case "pull_request":
		return ev, parsePullRequest(ev, &p)
	case "check_suite":
		return ev, parseCheckSuite(ev, &p)
	case "check_run":
		return ev, parseCheckRun(ev, &p)
	case "installation":
		return ev, parseInstallation(ev, &p)
	case "installation_repositories":
		return ev, parseInstallationRepos(ev, &p)
	}
	ev.Ignore = fmt.Sprintf("event %q is not handled", eventType)
	return ev, nil
}

func parsePush(ev *Event, p *payload) error {
	if ev.Repo == nil || p.Ref == "" {
		return fmt.Errorf("push payload lacks repository or ref")
	}
	switch {
	case p.Deleted:
		ev.Ignore = "branch or tag deletion"
		return nil
	case strings.HasPrefix(p.Ref, "refs/tags/"):
		ev.Ignore = "tag push"
		return nil
	case !strings.HasPrefix(p.Ref, "refs/heads/"):
		ev.Ignore = fmt.Sprintf("push to %s is not a branch", p.Ref)
		return nil
	case p.HeadCommit == nil || p.After == "" || strings.Trim(p.After, "0") == "":
		ev.Ignore = "push without a head commit"
		return nil
	case skipCI.MatchString(p.HeadCommit.Message):
		ev.Ignore = "head commit asks to skip CI"
		return nil
	}
	ev.Run = &EventRun{
		Trigger: "push", SHA: p.After, Ref: p.Ref, Branch: strings.TrimPrefix(p.Ref, "refs/heads/"),
		CloneURL: ev.Repo.CloneURL, CommitMessage: p.HeadCommit.Message,
		Author: cmp.Or(p.HeadCommit.Author.Username, p.HeadCommit.Author.Name),
	}
	if err := checkRun(ev.Run); err != nil {
		ev.Run = nil
		return err
	}
	return nil
}

func parsePullRequest(ev *Event, p *payload) error {
	switch p.Action {
	case "opened", "synchronize", "reopened":
	default:
		ev.Ignore = fmt.Sprintf("pull_request action %q does not run CI", p.Action)
		return nil
	}
	pr := p.PullRequest
	if pr == nil || ev.Repo == nil || pr.Head.SHA == "" {
		return fmt.Errorf("pull_request payload lacks pull_request.head or repository")
	}
	run := &EventRun{
		Trigger: "pull_request", SHA: pr.Head.SHA, Ref: fmt.Sprintf("refs/pull/%d/head", pr.Number),
		Branch: pr.Head.Ref, PRNumber: pr.Number, CommitMessage: pr.Title, Author: pr.User.Login,
		CloneURL: ev.Repo.CloneURL, HeadRepo: ev.Repo.FullName,
	}
	if pr.Head.Repo == nil {
		// The fork was deleted: nothing to fetch from but our own refs/pull.
		run.Fork = true
	} else if pr.Head.Repo.FullName != ev.Repo.FullName {
		run.Fork = true
		run.HeadRepo = pr.Head.Repo.FullName
	}
	if err := checkRun(run); err != nil {
		return err
	}
	ev.Run = run
	return nil
}

func parseCheckSuite(ev *Event, p *payload) error {
	if p.Action != "rerequested" {
		ev.Ignore = fmt.Sprintf("check_suite action %q needs no work", p.Action)
		return nil
	}
	if p.CheckSuite == nil || p.CheckSuite.HeadSHA == "" || ev.Repo == nil {
		return fmt.Errorf("check_suite payload lacks check_suite.head_sha or repository")
	}
	if err := checkRerun(p.CheckSuite.HeadSHA, p.CheckSuite.HeadBranch); err != nil {
		return err
	}
	ev.Rerun = &EventRerun{SHA: p.CheckSuite.HeadSHA, Branch: p.CheckSuite.HeadBranch}
	return nil
}

func parseCheckRun(ev *Event, p *payload) error {
	if p.Action != "rerequested" && p.Action != "requested_action" {
		ev.Ignore = fmt.Sprintf("check_run action %q needs no work", p.Action)
		return nil
	}
	cr := p.CheckRun
	if cr == nil || cr.HeadSHA == "" || ev.Repo == nil {
		return fmt.Errorf("check_run payload lacks check_run.head_sha or repository")
	}
	branch := ""
	if cr.CheckSuite != nil {
		branch = cr.CheckSuite.HeadBranch
	}
	if err := checkRerun(cr.HeadSHA, branch); err != nil {
		return err
	}
	// Our check runs carry the Sentinel run id as external_id; other apps'
	// check runs do not, and are not ours to act on for buttons.
	var runID int64
	fmt.Sscanf(cr.ExternalID, "%d", &runID)
	if p.Action == "rerequested" {
		ev.Rerun = &EventRerun{RunID: runID, SHA: cr.HeadSHA}
		if cr.CheckSuite != nil {
			ev.Rerun.Branch = cr.CheckSuite.HeadBranch
		}
		return nil
	}
	if p.RequestedAction == nil || p.RequestedAction.Identifier == "" {
		return fmt.Errorf("check_run requested_action payload lacks requested_action.identifier")
	}
	ev.Button = &EventButton{Identifier: p.RequestedAction.Identifier, RunID: runID, CheckRunID: cr.ID, SHA: cr.HeadSHA}
	return nil
}

func parseInstallation(ev *Event, p *payload) error {
	if ev.Installation == nil {
		return fmt.Errorf("installation payload lacks installation.id")
	}
	switch p.Action {
	case "created", "deleted", "suspend", "unsuspend":
	default:
		ev.Ignore = fmt.Sprintf("installation action %q needs no work", p.Action)
		return nil
	}
	for _, r := range p.Repositories {
		if err := appendRepo(ev, r.toEvent()); err != nil {
			return err
		}
	}
	return nil
}

func parseInstallationRepos(ev *Event, p *payload) error {
	if ev.Installation == nil {
		return fmt.Errorf("installation_repositories payload lacks installation.id")
	}
	switch p.Action {
	case "added":
		for _, r := range p.RepositoriesAdded {
			if err := appendRepo(ev, r.toEvent()); err != nil {
				return err
			}
		}
	case "removed":
		for _, r := range p.RepositoriesRemoved {
			ev.Removed = append(ev.Removed, r.ID)
		}
	default:
		ev.Ignore = fmt.Sprintf("installation_repositories action %q needs no work", p.Action)
	}
	return nil
}
