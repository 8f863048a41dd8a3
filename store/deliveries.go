package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Delivery is one webhook delivery as GitHub sent it.
type Delivery struct {
	ID             int64
	DeliveryID     string // X-GitHub-Delivery
	Event          string
	Action         string
	InstallationID int64
	RepositoryID   int64
	Headers        map[string]string
	Payload        []byte
	Outcome        string
	RunIDs         []int64
	ReceivedAt     time.Time
}

// InsertDelivery records a delivery unless its X-GitHub-Delivery id was seen
// before; duplicate reports that case (and nothing is written).
func InsertDelivery(ctx context.Context, q Querier, d Delivery) (id int64, duplicate bool, err error) {
	headers, err := json.Marshal(d.Headers)
	if err != nil {
		return 0, false, err
	}
	err = q.QueryRow(ctx, insertDeliverySQL, d.DeliveryID, d.Event, d.Action, d.InstallationID, headers, d.Payload).Scan(&id)
	if notFound(err) == ErrNotFound {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("insert delivery %s: %w", d.DeliveryID, err)
	}
	return id, false, nil
}

const insertDeliverySQL = `
	INSERT INTO deliveries (delivery_id, event, action, installation_id, headers, payload)
	VALUES ($1, $2, $3, NULLIF($4, 0), $5, $6)
	ON CONFLICT (delivery_id) DO NOTHING
	RETURNING id`

const setDeliveryOutcomeSQL = `UPDATE deliveries SET outcome = $2, run_ids = $3, repository_id = NULLIF($4, 0) WHERE id = $1`

// SetDeliveryOutcome records what the intake did with a delivery.
func SetDeliveryOutcome(ctx context.Context, q Querier, id, repositoryID int64, outcome string, runIDs []int64) error {
	if runIDs == nil {
		runIDs = []int64{}
	}
	_, err := q.Exec(ctx, setDeliveryOutcomeSQL, id, outcome, runIDs, repositoryID)
	if err != nil {
		return fmt.Errorf("delivery %d outcome: %w", id, err)
	}
	return nil
}

// MarkDeliveryReplayed stamps a delivery that `sentinel replay` processed again.
func MarkDeliveryReplayed(ctx context.Context, q Querier, id int64) error {
	_, err := q.Exec(ctx, `UPDATE deliveries SET replayed_at = now() WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delivery %d replayed: %w", id, err)
	}
	return nil
}

// GetDelivery returns a stored delivery by its X-GitHub-Delivery id.
func (db *DB) GetDelivery(ctx context.Context, deliveryID string) (Delivery, error) {
	var d Delivery
	var headers []byte
	err := db.Pool.QueryRow(ctx, `
		SELECT id, delivery_id, event, action, COALESCE(installation_id, 0), COALESCE(repository_id, 0),
			headers, payload, outcome, run_ids, received_at
		FROM deliveries WHERE delivery_id = $1`, deliveryID).Scan(
		&d.ID, &d.DeliveryID, &d.Event, &d.Action, &d.InstallationID, &d.RepositoryID,
		&headers, &d.Payload, &d.Outcome, &d.RunIDs, &d.ReceivedAt)
	if err != nil {
		return Delivery{}, fmt.Errorf("delivery %s: %w", deliveryID, notFound(err))
	}
	if err := json.Unmarshal(headers, &d.Headers); err != nil {
		return Delivery{}, fmt.Errorf("delivery %s headers: %w", deliveryID, err)
	}
	return d, nil
}
