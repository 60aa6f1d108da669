-- 0008: the durable inbox. Every update fetched from Telegram is written here (encrypted)
-- before Telegram is told it arrived, and replayed after a crash until it has been handled;
-- handled rows keep only their id (to refuse a second delivery) until they are purged.
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,
    body        TEXT,            -- Fernet token of the update's JSON; NULL once handled
    received_at TEXT NOT NULL,
    handled_at  TEXT
);
CREATE INDEX inbox_pending ON inbox (update_id) WHERE body IS NOT NULL;
CREATE INDEX inbox_handled_at ON inbox (handled_at) WHERE handled_at IS NOT NULL;

-- The update whose confirmation stored a submission, so a replay of that update finds it
-- and acknowledges it again instead of storing it twice.
ALTER TABLE submissions ADD COLUMN source_update_id INTEGER;
CREATE UNIQUE INDEX submissions_source_update ON submissions (source_update_id)
    WHERE source_update_id IS NOT NULL;
