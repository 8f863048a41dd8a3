package intake

// payload holds the fields of GitHub's webhook payloads that the intake
// reads; everything else is ignored by encoding/json.
type payload struct {
	Action     string `json:"action"`
	Zen        string `json:"zen"`
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	HeadCommit *struct {
		Message string `json:"message"`
		Author  struct {
			Name     string `json:"name"`
			Username string `json:"username"`
		} `json:"author"`
	} `json:"head_commit"`
	Repository   *payloadRepo `json:"repository"`
	Installation *struct {
		ID      int64 `json:"id"`
		Account *struct {
			Login string `json:"login"`
			Type  string `json:"type"`
		} `json:"account"`
	} `json:"installation"`
	Sender struct {
		Login string `json:"login"`
	} `json:"sender"`
	PullRequest *struct {
		Number int    `json:"number"`
		Title  string `json:"title"`
		User   struct {
			Login string `json:"login"`
		} `json:"user"`
		Head struct {
			Ref  string       `json:"ref"`
			SHA  string       `json:"sha"`
			Repo *payloadRepo `json:"repo"`
		} `json:"head"`
	} `json:"pull_request"`
	CheckSuite *payloadSuite `json:"check_suite"`
	CheckRun   *struct {
		ID         int64         `json:"id"`
		HeadSHA    string        `json:"head_sha"`
		ExternalID string        `json:"external_id"`
		CheckSuite *payloadSuite `json:"check_suite"`
	} `json:"check_run"`
	RequestedAction *struct {
		Identifier string `json:"identifier"`
	} `json:"requested_action"`
	Repositories        []payloadRepo `json:"repositories"`
	RepositoriesAdded   []payloadRepo `json:"repositories_added"`
	RepositoriesRemoved []payloadRepo `json:"repositories_removed"`
}

type payloadSuite struct {
	HeadSHA    string `json:"head_sha"`
	HeadBranch string `json:"head_branch"`
}

type payloadRepo struct {
	ID            int64  `json:"id"`
	FullName      string `json:"full_name"`
	CloneURL      string `json:"clone_url"`
	DefaultBranch string `json:"default_branch"`
	Private       bool   `json:"private"`
}

func (r payloadRepo) toEvent() EventRepo {
	return EventRepo{GitHubID: r.ID, FullName: r.FullName, CloneURL: r.CloneURL, DefaultBranch: r.DefaultBranch, Private: r.Private}
}
