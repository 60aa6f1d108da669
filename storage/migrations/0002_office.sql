-- 0002: the campaign office's work: events on items, full-text search, and the outbox.

-- Everything that happens to an item besides status changes (topic corrections,
-- questions to the sender and answers, instructions of the leading group, notes).
CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    submission_id   INTEGER NOT NULL REFERENCES submissions (id),
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,   -- 'sender', 'admin:<id>', 'group:<id>' or 'system'
    kind            TEXT NOT NULL,   -- 'topic', 'note', ...
    body            TEXT NOT NULL
);
CREATE INDEX ix_events_submission ON events (submission_id, id);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

-- Full-text search over item texts. The trigram tokenizer works for Chinese (no word
-- segmentation needed) for terms of three or more characters; shorter terms use LIKE.
CREATE VIRTUAL TABLE submissions_fts USING fts5 (
    text, content = 'submissions', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO submissions_fts (rowid, text) SELECT id, text FROM submissions;
CREATE TRIGGER submissions_fts_insert AFTER INSERT ON submissions
BEGIN
    INSERT INTO submissions_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER submissions_fts_update AFTER UPDATE OF text ON submissions
BEGIN
    INSERT INTO submissions_fts (submissions_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO submissions_fts (rowid, text) VALUES (new.id, new.text);
END;

-- Every message the bot owes someone (senders, the office, the leading group, the channel)
-- is written here in the same transaction as the change that caused it, then delivered by
-- a job; a failed delivery is retried with backoff and finally shown to the office.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    created_at      TEXT NOT NULL,
    submission_id   INTEGER REFERENCES submissions (id),
    chat_enc        TEXT NOT NULL,   -- the destination chat id, encrypted (may be a sender)
    body            TEXT NOT NULL,   -- JSON: {"text": ..., "buttons": [[[label, data], ...]]}
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    sent_at         TEXT,
    message_id      INTEGER
);
CREATE INDEX ix_outbox_due ON outbox (status, next_attempt_at);

-- Questions the bot asked in a chat (e.g. "reply with the reason for rejecting #42"), so
-- that the reply can be matched to its action after a restart.
CREATE TABLE prompts (
    chat_id         INTEGER NOT NULL,
    message_id      INTEGER NOT NULL,
    action          TEXT NOT NULL,
    submission_id   INTEGER NOT NULL REFERENCES submissions (id),
    asked_by        INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
) WITHOUT ROWID;
