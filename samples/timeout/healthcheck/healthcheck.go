// Package healthcheck asks a service whether it is healthy over a line-based TCP protocol.
package healthcheck

import (
	"bufio"
	"fmt"
	"net"
	"strings"
)

// Check connects to addr, sends "PING" and expects "PONG".
//
// The bug this sample exists to show: there is no deadline on the connection, so a peer that
// accepts but never answers makes Check wait forever, and whatever runs it hangs until something
// outside kills it.
func Check(addr string) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "PING\n"); err != nil {
		return fmt.Errorf("healthcheck: send: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("healthcheck: read: %w", err)
	}
	if strings.TrimSpace(line) != "PONG" {
		return fmt.Errorf("healthcheck: unexpected answer %q", line)
	}
	return nil
}
