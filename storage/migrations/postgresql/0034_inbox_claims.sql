-- 0034 (#24), PostgreSQL: the inbox as a claim queue (sender digest, lease) and the webhook
-- registration of several workers; see the SQLite twin.
ALTER TABLE inbox ADD COLUMN sender_key TEXT;
ALTER TABLE inbox ADD COLUMN claimed_by TEXT;
ALTER TABLE inbox ADD COLUMN lease_until BIGINT;
CREATE INDEX inbox_sender_pending ON inbox (sender_key, update_id) WHERE body IS NOT NULL;

CREATE TABLE webhook_registration (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    url             TEXT NOT NULL,
    secret_digest   TEXT NOT NULL,
    registered_by   TEXT NOT NULL,
    registered_at   TEXT NOT NULL
);
