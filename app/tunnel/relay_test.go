package tunnel

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeRelayedDelivery(t *testing.T) {
	t.Parallel()
	raw := "{\n  \"zen\": \"Keep it logically awesome.\",\n  \"hook_id\": 1\n}"
	b64 := base64.StdEncoding.EncodeToString([]byte(raw))
	tests := []struct {
		name string
		data string
		want relayedDelivery
	}{
		{
			name: "smee.io: headers flattened, parsed body forwarded byte for byte",
			data: `{"host":"smee.io","x-github-event":"ping","x-github-delivery":"d-1",` +
				`"x-hub-signature-256":"sha256=ab","content-type":"application/json","content-length":"999",` +
				`"x-forwarded-for":"140.82.115.1","connection":"close","user-agent":"GitHub-Hookshot/1",` +
				`"body":{"zen":"Keep it logically awesome.","hook_id":1,"b":[1.0,2]},"query":{},"timestamp":1700000000000}`,
			want: relayedDelivery{
				Header: http.Header{
					"X-Github-Event": {"ping"}, "X-Github-Delivery": {"d-1"}, "X-Hub-Signature-256": {"sha256=ab"},
					"Content-Type": {"application/json"}, "User-Agent": {"GitHub-Hookshot/1"},
				},
				Body:      []byte(`{"zen":"Keep it logically awesome.","hook_id":1,"b":[1.0,2]}`),
				Query:     url.Values{},
				BodyField: "body",
			},
		},
		{
			name: "gosmee bodyB wins over the parsed body",
			data: `{"x-github-event":"ping","body":{"zen":"changed"},"bodyB":"` + b64 + `"}`,
			want: relayedDelivery{
				Header: http.Header{"X-Github-Event": {"ping"}, "Content-Type": {"application/json"}},
				Body:   []byte(raw), Raw: true, BodyField: "bodyB",
			},
		},
		{
			name: "bodyB64 wins over rawdata",
			data: `{"rawdata":"mangled","bodyB64":"` + b64 + `","x-github-event":"ping"}`,
			want: relayedDelivery{
				Header: http.Header{"X-Github-Event": {"ping"}, "Content-Type": {"application/json"}},
				Body:   []byte(raw), Raw: true, BodyField: "bodyB64",
			},
		},
		{
			name: "rawdata as a string",
			data: `{"x-github-event":"ping","rawdata":` + quoteJSON(raw) + `,"body":{"zen":"x"}}`,
			want: relayedDelivery{
				Header: http.Header{"X-Github-Event": {"ping"}, "Content-Type": {"application/json"}},
				Body:   []byte(raw), Raw: true, BodyField: "rawdata",
			},
		},
		{
			name: "rawBody as a serialised Node Buffer",
			data: `{"x-github-event":"ping","rawBody":{"type":"Buffer","data":[123,34,97,34,58,49,125]}}`,
			want: relayedDelivery{
				Header: http.Header{"X-Github-Event": {"ping"}, "Content-Type": {"application/json"}},
				Body:   []byte(`{"a":1}`), Raw: true, BodyField: "rawBody",
			},
		},
		{
			name: "form-encoded delivery is encoded as a form again",
			data: `{"content-type":"application/x-www-form-urlencoded","x-github-event":"ping","body":{"payload":"{\"a\":1}"}}`,
			want: relayedDelivery{
				Header:    http.Header{"X-Github-Event": {"ping"}, "Content-Type": {"application/x-www-form-urlencoded"}},
				Body:      []byte(`payload=%7B%22a%22%3A1%7D`),
				BodyField: "body",
			},
		},
		{
			name: "query values are kept",
			data: `{"x-github-event":"ping","body":{},"query":{"a":"1","b":["2","3"]}}`,
			want: relayedDelivery{
				Header:    http.Header{"X-Github-Event": {"ping"}, "Content-Type": {"application/json"}},
				Body:      []byte(`{}`),
				Query:     url.Values{"a": {"1"}, "b": {"2", "3"}},
				BodyField: "body",
			},
		},
		{
			name: "non-string header values are not headers",
			data: `{"x-github-event":["push"],"x-github-hook-id":123,"body":[]}`,
			want: relayedDelivery{
				Header:    http.Header{"Content-Type": {"application/json"}},
				Body:      []byte(`[]`),
				BodyField: "body",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeRelayedDelivery([]byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("delivery (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRelayedDeliveryErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, data, wantErr string }{
		{"not JSON", `ready`, "not a JSON object"},
		{"JSON array", `[1,2]`, "not a JSON object"},
		{"null", `null`, "null"},
		{"no body", `{"x-github-event":"push"}`, "has no body"},
		{"null body", `{"x-github-event":"push","body":null}`, "has no body"},
		{"bad base64", `{"bodyB64":"%%%"}`, "not valid base64"},
		{"base64 not a string", `{"bodyB":12}`, "not a string"},
		{"rawdata wrong shape", `{"rawdata":{"type":"Blob","data":[1]}}`, "neither a string nor a serialised Buffer"},
		{"rawdata byte out of range", `{"rawdata":{"type":"Buffer","data":[256]}}`, "out of range"},
		{"query not an object", `{"body":{},"query":"a=1"}`, "query is not an object"},
		{"query value not strings", `{"body":{},"query":{"a":{"b":1}}}`, "query.a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeRelayedDelivery([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v; want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckRelayedSignature(t *testing.T) {
	t.Parallel()
	vector := readSignatureVector(t)
	tests := []struct {
		name   string
		secret string
		body   string
		header string
		want   signatureCheck
	}{
		{"GitHub's documented example", vector.Secret, vector.Payload, vector.Signature, signatureMatches},
		{"body changed by one byte", vector.Secret, vector.Payload + " ", vector.Signature, signatureMismatch},
		{"wrong secret", "not it", vector.Payload, vector.Signature, signatureMismatch},
		{"sha1 header only", vector.Secret, vector.Payload, "sha1=abc", signatureMismatch},
		{"not hex", vector.Secret, vector.Payload, "sha256=zz", signatureMismatch},
		{"no secret", "", vector.Payload, vector.Signature, signatureNotChecked},
		{"no header", vector.Secret, vector.Payload, "", signatureNotChecked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := checkRelayedSignature([]byte(tt.secret), []byte(tt.body), tt.header); got != tt.want {
				t.Errorf("checkRelayedSignature = %v; want %v", got, tt.want)
			}
		})
	}
}

// FuzzDecodeRelayedDelivery checks that no relay event panics the decoder and that every
// decoded delivery has a content type to forward.
func FuzzDecodeRelayedDelivery(f *testing.F) {
	for _, seed := range []string{
		`{"x-github-event":"push","body":{"a":1}}`, `{"bodyB64":"e30="}`, `{"bodyB":"e30="}`,
		`{"rawdata":{"type":"Buffer","data":[1,2]}}`, `{"content-type":"application/x-www-form-urlencoded","body":{"payload":"x"}}`,
		`{"body":"text","content-type":"text/plain"}`, `{"query":{"a":["b"]},"body":1}`, `{}`, `ready`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeRelayedDelivery(data)
		if err != nil {
			return
		}
		if d.Header.Get("Content-Type") == "" || d.BodyField == "" {
			t.Errorf("decoded delivery lacks a content type or body field: %+v", d)
		}
	})
}

// TestRelayStreams decodes event streams shaped after each relay's server code
// (testdata/tunnel/*.sse: smee.io's lib/server.js, gosmee's gosmee/server.go) and records, per
// delivery, what would be forwarded and whether its signature survives. The smee.io push shows
// the pitfall: JavaScript's JSON.stringify reorders integer-like keys and drops \/ and \u
// escapes, so its signature no longer matches; gosmee's bodyB carries the original bytes.
func TestRelayStreams(t *testing.T) {
	t.Parallel()
	type forwarded struct {
		Event, Delivery, BodyField string
		Raw                        bool
		Signature                  string
		Headers                    []string
	}
	names := map[signatureCheck]string{signatureMatches: "matches", signatureMismatch: "mismatch", signatureNotChecked: "not checked"}
	for _, relay := range []string{"smeeio", "gosmee"} {
		t.Run(relay, func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(filepath.Join("testdata", "tunnel", relay+".sse"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			events := newSSEReader(f)
			var got []forwarded
			for {
				ev, err := events.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if ev.Event != "" || string(ev.Data) == "ready" {
					continue // ready and ping, as Tunnel.stream skips them
				}
				d, err := decodeRelayedDelivery(ev.Data)
				if err != nil {
					t.Fatal(err)
				}
				var headers []string
				for k := range d.Header {
					headers = append(headers, k)
				}
				slices.Sort(headers)
				got = append(got, forwarded{
					Event: d.Header.Get("X-GitHub-Event"), Delivery: d.Header.Get("X-GitHub-Delivery"),
					BodyField: d.BodyField, Raw: d.Raw, Headers: headers,
					Signature: names[checkRelayedSignature([]byte(tunnelTestSecret), d.Body, d.Header.Get("X-Hub-Signature-256"))],
				})
			}
			out, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("tunnel", relay+".golden.json"), append(out, '\n'))
		})
	}
}
