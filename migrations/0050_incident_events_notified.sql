-- Team notifications (jobs/notify.go): an incident's opened, resolved and
-- reopened events are an outbox. The transaction that writes one also takes
-- it (store.TakeIncidentNotices, sets notified) and queues its notification,
-- so each is sent once. Events older than this migration count as notified:
-- turning notifications on must not replay an incident's history.
ALTER TABLE incident_events ADD COLUMN notified boolean NOT NULL DEFAULT true;
ALTER TABLE incident_events ALTER COLUMN notified SET DEFAULT false;
CREATE INDEX incident_events_unnotified_idx ON incident_events (incident_id)
    WHERE NOT notified AND kind IN ('opened', 'resolved', 'reopened');
