package healthcheck

import (
	"bufio"
	"net"
	"testing"
)

// serve accepts connections on a loopback listener and hands each one to handle.
func serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().String()
}

func TestCheckHealthy(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		defer c.Close()
		if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
			c.Write([]byte("PONG\n"))
		}
	})
	if err := Check(addr); err != nil {
		t.Fatal(err)
	}
}

// TestCheckStalledPeer hangs: the peer reads the PING and then never answers nor closes, and
// Check has no deadline. The step's timeout in .sentinel.yml is what ends it.
func TestCheckStalledPeer(t *testing.T) {
	stalled := make(chan net.Conn, 1)
	addr := serve(t, func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		stalled <- c // keep the connection open and silent
	})
	if err := Check(addr); err == nil {
		t.Fatal("Check succeeded against a peer that never answered")
	}
}
