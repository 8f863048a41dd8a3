package tunnel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// relayedDelivery is one webhook delivery as a relay's event carried it.
type relayedDelivery struct {
	Header http.Header
	Body   []byte
	Query  url.Values
	// Raw is true when Body holds the bytes GitHub sent, so X-Hub-Signature-256 still matches;
	// false when the relay parsed the JSON and we only have its re-serialisation.
	Raw bool
	// BodyField names the field the body came from (bodyB64, bodyB, rawdata, rawBody or body).
	BodyField string
}

// errRelayNoBody is returned for a relay event that carries headers but no body field at all.
var errRelayNoBody = errors.New("relay event has no body, bodyB64, bodyB or rawdata field")

// decodeRelayedDelivery turns the data of one relay event into a delivery. It understands:
//
//   - smee.io / smee-client: the request headers flattened into the object (lower-case names), the
//     parsed JSON body under "body", the query under "query", and "timestamp";
//   - newer smee servers that add the raw body text under "rawdata" (or "rawBody"), either as a
//     string or as a serialised Node Buffer ({"type":"Buffer","data":[...]});
//   - gosmee-style relays that send the raw body base64-encoded under "bodyB64" or "bodyB".
//
// A raw body is always preferred, because only the raw bytes are guaranteed to match the HMAC
// GitHub computed.
func decodeRelayedDelivery(data []byte) (relayedDelivery, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return relayedDelivery{}, fmt.Errorf("relay event data is not a JSON object: %w", err)
	}
	if fields == nil {
		return relayedDelivery{}, errors.New("relay event data is null, not a JSON object")
	}
	d := relayedDelivery{Header: http.Header{}}
	var (
		parsedBody json.RawMessage
		fromBase64 bool
	)
	for name, value := range fields {
		switch key := strings.ToLower(name); key {
		case "bodyb64", "bodyb":
			b, err := decodeBase64Field(name, value)
			if err != nil {
				return relayedDelivery{}, err
			}
			d.Body, d.Raw, d.BodyField, fromBase64 = b, true, name, true
		case "rawdata", "rawbody":
			if fromBase64 {
				continue // both present: prefer base64, which no text encoding step can have mangled
			}
			b, err := decodeRawField(name, value)
			if err != nil {
				return relayedDelivery{}, err
			}
			d.Body, d.Raw, d.BodyField = b, true, name
		case "body":
			parsedBody = value
		case "query":
			q, err := decodeQueryField(value)
			if err != nil {
				return relayedDelivery{}, err
			}
			d.Query = q
		default:
			if !tunnelForwardsHeader(key) {
				continue
			}
			var s string
			if err := json.Unmarshal(value, &s); err != nil {
				continue // header values are strings; anything else is not a header
			}
			d.Header.Set(key, s)
		}
	}
	if d.Header.Get("Content-Type") == "" {
		d.Header.Set("Content-Type", "application/json")
	}
	if d.Raw {
		return d, nil
	}
	if parsedBody == nil || string(parsedBody) == "null" {
		return relayedDelivery{}, errRelayNoBody
	}
	body, err := reencodeParsedBody(d.Header.Get("Content-Type"), parsedBody)
	if err != nil {
		return relayedDelivery{}, err
	}
	d.Body, d.BodyField = body, "body"
	return d, nil
}

// tunnelForwardsHeader says which relayed headers reach Sentinel: GitHub's own, the content type
// and the user agent. Hop-by-hop headers, the relay's proxy headers and Content-Length (the body
// may have changed length) are dropped.
func tunnelForwardsHeader(lowerName string) bool {
	switch {
	case lowerName == "content-type", lowerName == "user-agent":
		return true
	case strings.HasPrefix(lowerName, "x-github-"), strings.HasPrefix(lowerName, "x-hub-signature"):
		return true
	}
	return false
}

func decodeBase64Field(name string, value json.RawMessage) ([]byte, error) {
	var s string
	if err := json.Unmarshal(value, &s); err != nil {
		return nil, fmt.Errorf("relay field %s is not a string: %w", name, err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("relay field %s is not valid base64: %w", name, err)
	}
	return b, nil
}

func decodeRawField(name string, value json.RawMessage) ([]byte, error) {
	var s string
	if err := json.Unmarshal(value, &s); err == nil {
		return []byte(s), nil
	}
	var buf struct {
		Type string `json:"type"`
		Ints []int  `json:"data"`
	}
	if err := json.Unmarshal(value, &buf); err != nil || buf.Type != "Buffer" {
		return nil, fmt.Errorf("relay field %s is neither a string nor a serialised Buffer", name)
	}
	out := make([]byte, len(buf.Ints))
	for i, v := range buf.Ints {
		if v < 0 || v > 255 {
			return nil, fmt.Errorf("relay field %s: byte %d out of range: %d", name, i, v)
		}
		out[i] = byte(v)
	}
	return out, nil
}

func decodeQueryField(value json.RawMessage) (url.Values, error) {
	if string(value) == "null" {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(value, &raw); err != nil {
		return nil, fmt.Errorf("relay field query is not an object: %w", err)
	}
	q := url.Values{}
	for k, v := range raw {
		var one string
		if json.Unmarshal(v, &one) == nil {
			q.Add(k, one)
			continue
		}
		var many []string
		if err := json.Unmarshal(v, &many); err != nil {
			return nil, fmt.Errorf("relay field query.%s is neither a string nor a list of strings", k)
		}
		q[k] = append(q[k], many...)
	}
	return q, nil
}

// reencodeParsedBody rebuilds a request body from a relay that parsed it. For JSON the relay's own
// serialisation is forwarded byte for byte (decoding it into Go values would reorder keys and
// change it further). A form-encoded delivery ({"payload": "..."}) is encoded again as a form.
func reencodeParsedBody(contentType string, parsed json.RawMessage) ([]byte, error) {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	if mediaType == "application/x-www-form-urlencoded" {
		q, err := decodeQueryField(parsed)
		if err != nil {
			return nil, fmt.Errorf("relay body of a form delivery: %w", err)
		}
		return []byte(q.Encode()), nil
	}
	if !strings.HasSuffix(mediaType, "json") {
		var s string
		if json.Unmarshal(parsed, &s) == nil {
			return []byte(s), nil
		}
	}
	return []byte(parsed), nil
}

// signatureCheck is what the tunnel learned by checking a body against X-Hub-Signature-256
// with the webhook secret it was given.
type signatureCheck int

const (
	signatureNotChecked signatureCheck = iota // no secret, or no signature header
	signatureMatches
	signatureMismatch
)

// checkRelayedSignature recomputes GitHub's HMAC-SHA256 over body. The tunnel only uses this to
// explain a failure early; Sentinel's webhook handler still verifies every delivery itself.
func checkRelayedSignature(secret, body []byte, header string) signatureCheck {
	if len(secret) == 0 || header == "" {
		return signatureNotChecked
	}
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return signatureMismatch
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return signatureMismatch
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return signatureMismatch
	}
	return signatureMatches
}
