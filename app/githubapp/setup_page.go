package githubapp

import (
	"bytes"
	"html/template"
	"net/http"
)

// setupPage is the view of both setup pages: the start page (Action set), the result (Saved
// set) or an error.
type setupPage struct {
	Action      string
	Manifest    string
	Name        string
	WebhookURL  string
	Permissions []permission
	Events      []string
	Saved       *SavedApp
	Error       string
}

// setupTemplate is parsed once. It lives here rather than in templates/ because it belongs to a
// one-off command that runs before the dashboard exists, and shares none of its layout.
var setupTemplate = template.Must(template.New("setup").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sentinel setup</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .25em}.error{color:#a00}button{font-size:1rem;padding:.5em 1em}</style>
</head>
<body>
<h1>Sentinel setup</h1>
{{if .Error}}
<p class="error">{{.Error}}</p>
{{else if .Saved}}
<p>GitHub App <strong>{{.Saved.Credentials.Name}}</strong> (id {{.Saved.Credentials.ID}}) is registered and its
credentials are saved in <code>{{.Saved.Dir}}</code>, readable only by you.</p>
<ol>
<li><a href="{{.Saved.InstallURL}}">Install the App</a> on the repositories Sentinel should run.</li>
<li>Load the credentials and start Sentinel: <code>. {{.Saved.EnvFile}} &amp;&amp; sentinel serve</code></li>
<li>Forward webhooks to it: <code>sentinel tunnel --from {{.WebhookURL}}</code></li>
</ol>
<p>You can close this page; the setup command has finished.</p>
{{else}}
<p>This registers a new GitHub App for Sentinel on GitHub. You can change its name on the next page.</p>
<p>Webhooks will be sent to <code>{{.WebhookURL}}</code>.</p>
<h2>Permissions</h2>
<ul>{{range .Permissions}}<li><code>{{.Name}}</code>: {{.Access}}</li>{{end}}
</ul>
<h2>Events</h2>
<ul>{{range .Events}}<li><code>{{.}}</code></li>{{end}}
<li><code>installation</code>, <code>installation_repositories</code> (GitHub sends these to every App)</li>
</ul>
<form action="{{.Action}}" method="post">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<button type="submit">Create GitHub App</button>
</form>
{{end}}
</body>
</html>
`))

func (s *Setup) page(w http.ResponseWriter, status int, p setupPage) {
	if p.WebhookURL == "" {
		p.WebhookURL = s.manifest.HookAttributes.URL
	}
	var buf bytes.Buffer
	if err := setupTemplate.Execute(&buf, p); err != nil {
		s.log.Error("setup: rendering page", "err", err)
		http.Error(w, "rendering the setup page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The result page names where the private key is; nothing here may be cached or framed.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	buf.WriteTo(w)
}
