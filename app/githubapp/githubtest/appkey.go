package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"
)

var (
	appKeyOnce sync.Once
	appKeyPEM  []byte
)

// AppKey is an RSA key (PEM) for a test App, generated once per test binary.
// The fake accepts any App JWT, so every test may share it.
func AppKey(t testing.TB) []byte {
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
