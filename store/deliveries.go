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

// MarkDeliveryReplayed stamps a delivery that `sentinel replay` processed again.
func MarkDeliveryReplayed(ctx context.Context, q Querier, id int64) error {
	_, err := q.Exec(ctx, `UPDATE deliveries SET replayed_at = now() WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delivery %d replayed: %w", id, err)
	}
	return nil
}

// GetDelivery returns a stored delivery by its X-GitHub-Delivery id.
func GetDelivery(ctx context.Context, q Querier, deliveryID string) (Delivery, error) {
	var d Delivery
	var headers []byte
	err := q.QueryRow(ctx, `
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
