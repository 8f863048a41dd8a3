package intake

import (
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrUnavailable wraps the error of a delivery that could not be recorded
// because the database did not answer within the delivery's time budget:
// the sender should deliver it again later (GitHub's "Redeliver").
var ErrUnavailable = errors.New("database unavailable")

// defaultRetryBudget is how long a delivery's batch is retried while the
// database is unavailable. GitHub waits 10 s for an answer; what is left is
// for the answer itself.
const defaultRetryBudget = 8 * time.Second

// retryBackoff is the pause before the attempt after attempt n (from 1).
func retryBackoff(n int) time.Duration {
	return min(100*time.Millisecond<<n, time.Second)
}

// unavailable reports whether err says the database could not be reached or
// went away (a restart, a failover, a connection ended by an administrator),
// as opposed to a statement PostgreSQL refused: only the former is worth
// trying again unchanged.
func unavailable(err error) bool {
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code[:2] {
		case "08", "57", "53": // connection exception, operator intervention, insufficient resources
			return true
		}
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed")
}
