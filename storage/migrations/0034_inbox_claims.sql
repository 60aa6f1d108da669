-- 0034 (#24): several webhook workers on one database. The inbox becomes a claim queue:
-- each update carries a keyed digest of its sender (never the id itself), and the worker
-- handling it holds a lease (its name, bot/worker.py, and until when, in milliseconds since
-- the epoch) that it renews while handling; a dead worker's updates are claimed by another
-- once the lease ran out. A sender's next update is claimable only when the earlier ones
-- are handled, so each sender's updates are handled in their order.
ALTER TABLE inbox ADD COLUMN sender_key TEXT;
ALTER TABLE inbox ADD COLUMN claimed_by TEXT;
ALTER TABLE inbox ADD COLUMN lease_until INTEGER;
CREATE INDEX inbox_sender_pending ON inbox (sender_key, update_id) WHERE body IS NOT NULL;

-- The webhook Telegram was last given, so that of several workers starting with the same
-- URL and secret only one calls setWebhook: the URL and a keyed digest of the secret token
-- (never the token), one row.
CREATE TABLE webhook_registration (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    url             TEXT NOT NULL,
    secret_digest   TEXT NOT NULL,
    registered_by   TEXT NOT NULL,
    registered_at   TEXT NOT NULL
);
