package app

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
)

// CSRF protection is a double-submit token: a random value in an HttpOnly
// cookie, repeated in every form (field "csrf") or in the X-CSRF-Token
// header. A page on another site can make a browser post a form here but
// can neither read the cookie nor guess the value. SameSite=Lax keeps the
// cookie on links followed from GitHub (check run details) and off other
// sites' POSTs.

const csrfCookie = "sentinel_csrf"

// csrfToken returns this browser's token, issuing one when it has none.
func csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && validCSRFValue(c.Value) {
		return c.Value
	}
	b := make([]byte, 32)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	// Later reads in this request (a page rendered after a redirect-less
	// form error) see the same token.
	r.AddCookie(&http.Cookie{Name: csrfCookie, Value: tok})
	return tok
}

func validCSRFValue(v string) bool {
	if len(v) != 64 {
		return false
	}
	_, err := hex.DecodeString(v)
	return err == nil
}

// checkCSRF reports whether the request repeats its cookie's token.
func checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || !validCSRFValue(c.Value) {
		return false
	}
	sent := r.Header.Get("X-CSRF-Token")
	if sent == "" {
		sent = r.PostFormValue("csrf")
	}
	return subtle.ConstantTimeCompare([]byte(sent), []byte(c.Value)) == 1
}
