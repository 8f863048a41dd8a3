package app

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"sync"
	"testing"

	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestMain stops the Postgres cluster storetest may start for this package's
// tests (the only TestMain of package app; other app tests share it).
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var (
	appKeyOnce sync.Once
	appKeyPEM  []byte
)

// testAppKey is an RSA key for a test App, generated once per test binary.
func testAppKey(t testing.TB) []byte {
	t.Helper()
	appKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		appKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	})
	return appKeyPEM
}
