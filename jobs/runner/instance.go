package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/sentinel-ci/sentinel/store"
)

// InstanceID names this Sentinel for Docker.Instance: a short hash of the
// database it works on (server address, port, database name), so that two
// Sentinels, or two test databases, sharing one Docker daemon never touch
// each other's containers.
func InstanceID(ctx context.Context, db *store.DB) (string, error) {
	ident, err := store.DatabaseIdentity(ctx, db)
	if err != nil {
		return "", fmt.Errorf("instance id: %w", err)
	}
	sum := sha256.Sum256([]byte(ident))
	return hex.EncodeToString(sum[:6]), nil
}
