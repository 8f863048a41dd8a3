package app

import (
	"net/http"
	"testing"
)

// TestHTTPServerTimeouts: a client that trickles headers, a body or nothing
// at all cannot hold a connection open for ever.
func TestHTTPServerTimeouts(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler())
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 {
		t.Errorf("time-outs: read header %v, read %v, idle %v; want all set", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout)
	}
	if srv.WriteTimeout != 0 {
		t.Errorf("write time-out %v would cut the live log tail", srv.WriteTimeout)
	}
}
