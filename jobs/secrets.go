package jobs

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
)

// SecretBox seals and opens secret values with AES-256-GCM. The scope and
// name are the additional data, so a sealed value moved to another row (or
// another repository) does not open.
type SecretBox struct {
	aead cipher.AEAD
}

// NewSecretBox takes a 32-byte key.
func NewSecretBox(key []byte) (*SecretBox, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key: want 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &SecretBox{aead: aead}, nil
}

func secretAD(scope store.SecretScope, name string) []byte {
	return []byte(scope.Kind() + ":" + strconv.FormatInt(scope.ID(), 10) + ":" + name)
}

// Seal returns nonce || ciphertext.
func (b *SecretBox) Seal(scope store.SecretScope, name string, value []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(value)+b.aead.Overhead())
	rand.Read(nonce) //nolint:errcheck // crypto/rand.Read never fails
	return b.aead.Seal(nonce, nonce, value, secretAD(scope, name))
}

// Open reverses Seal; a wrong key or a value moved between rows fails.
func (b *SecretBox) Open(scope store.SecretScope, name string, sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed secret is too short")
	}
	v, err := b.aead.Open(nil, sealed[:n], sealed[n:], secretAD(scope, name))
	if err != nil {
		return nil, fmt.Errorf("secret %s of %s %d does not open with this key (SENTINEL_SECRET_KEY changed?)", name, scope.Kind(), scope.ID())
	}
	return v, nil
}

// ParseSecretKey reads a key written as base64 (standard or URL, padded or
// not) or hex of 32 random bytes.
func ParseSecretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("secret key: want 32 random bytes as base64 or hex (for example: openssl rand -base64 32)")
}

// SecretKeyFile reads the key from path, creating it (mode 0600, 32 random
// bytes in base64) when it does not exist: a Sentinel whose operator set no
// key still stores secrets encrypted, and keeps its key across restarts.
func SecretKeyFile(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key) //nolint:errcheck // crypto/rand.Read never fails
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return nil, fmt.Errorf("secret key file: %w", werr)
		}
		return key, nil
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	k, err := ParseSecretKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// secretName is the form a step's environment can carry.
var secretName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// maxSecretSize keeps secrets to what an environment variable can carry.
const maxSecretSize = 64 << 10

// errNoSecretKey refuses secret changes on a Sentinel started without a key.
var errNoSecretKey = errors.New("secrets are not available: this Sentinel has no secret key")

// CheckSecret validates a secret's name and value; the error says what is
// wrong, for a door to answer 400.
func CheckSecret(name string, value []byte) error {
	switch {
	case !secretName.MatchString(name):
		return fmt.Errorf("secret name %q: want letters, digits and _, not starting with a digit", name)
	case strings.HasPrefix(strings.ToUpper(name), "SENTINEL_"), strings.EqualFold(name, "CI"):
		return fmt.Errorf("secret name %q is reserved for what Sentinel sets itself", name)
	case len(value) == 0:
		return errors.New("secret value is empty")
	case len(value) < 4:
		return errors.New("secret value is shorter than 4 bytes: too short to be masked in logs")
	case len(value) > maxSecretSize:
		return fmt.Errorf("secret value is larger than %d KiB", maxSecretSize>>10)
	case strings.ContainsRune(string(value), 0):
		return errors.New("secret value contains a NUL byte, which an environment variable cannot carry")
	}
	return nil
}

// SetSecret creates or replaces a secret, sealed, with its audit entry
// (which names the secret, never its value).
func (a *Actions) SetSecret(ctx context.Context, scope store.SecretScope, name string, value []byte, actor string) error {
	if a.Secrets == nil {
		return errNoSecretKey
	}
	if err := CheckSecret(name, value); err != nil {
		return err
	}
	if err := a.checkScope(ctx, scope); err != nil {
		return err
	}
	sealed := a.Secrets.Seal(scope, name, value)
	return a.DB.InTx(ctx, func(tx pgx.Tx) error {
		replaced, err := store.PutSecret(ctx, tx, scope, name, sealed)
		if err != nil {
			return err
		}
		return store.Audit(ctx, tx, actor, "secret.set", scope.Kind(), scope.ID(), map[string]any{"name": name, "replaced": replaced})
	})
}

// DeleteSecret removes a secret; store.ErrNotFound when there is none.
func (a *Actions) DeleteSecret(ctx context.Context, scope store.SecretScope, name string, actor string) error {
	return a.DB.InTx(ctx, func(tx pgx.Tx) error {
		if err := store.DeleteSecret(ctx, tx, scope, name); err != nil {
			return err
		}
		return store.Audit(ctx, tx, actor, "secret.delete", scope.Kind(), scope.ID(), map[string]any{"name": name})
	})
}

func (a *Actions) checkScope(ctx context.Context, scope store.SecretScope) error {
	if scope.RepositoryID != 0 {
		_, err := store.GetRepository(ctx, a.DB, scope.RepositoryID)
		return err
	}
	ok, err := store.InstallationExists(ctx, a.DB, scope.InstallationID)
	if err == nil && !ok {
		err = fmt.Errorf("installation %d: %w", scope.InstallationID, store.ErrNotFound)
	}
	return err
}
