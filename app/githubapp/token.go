package githubapp

import (
	"context"
	"fmt"

	"github.com/bradleyfalzon/ghinstallation/v2"
)

// InstallationToken returns a current installation token, for cloning over
// HTTPS as x-access-token. It comes from the same cached transport as the API
// calls, so it is refreshed a minute before it expires.
func (c *Client) InstallationToken(ctx context.Context, installationID int64) (string, error) {
	gc, err := c.Installation(installationID)
	if err != nil {
		return "", err
	}
	tr, ok := gc.Client().Transport.(*ghinstallation.Transport)
	if !ok {
		return "", fmt.Errorf("github: installation %d has no token transport", installationID)
	}
	return tr.Token(ctx)
}

// InstallationToken is "" for the recorder: without App credentials there is
// no token, and the runner clones without one.
func (r *Recorder) InstallationToken(context.Context, int64) (string, error) { return "", nil }
