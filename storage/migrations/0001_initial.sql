-- 0001: residents, drafts, submissions, attachments, history, conversation states.
-- Identity rule: a plain Telegram id or name appears only in the sender_* columns of a
-- named submission. Everything per-user is keyed by owner_hash (HMAC with a secret key).

CREATE TABLE users (
    owner_hash  TEXT PRIMARY KEY,
    language    TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE drafts (
    owner_hash  TEXT PRIMARY KEY,
    body        TEXT NOT NULL,           -- JSON of bot.records.Draft
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE submissions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT NOT NULL CHECK (kind IN ('suggestion', 'problem')),
    text                TEXT NOT NULL,
    topic_id            TEXT NOT NULL,
    suggested_topic_id  TEXT NOT NULL,
    evidence            TEXT NOT NULL,   -- JSON list of {topic_id, score, keywords}
    anonymous           INTEGER NOT NULL CHECK (anonymous IN (0, 1)),
    owner_hash          TEXT,            -- anonymous only
    reply_route         TEXT,            -- anonymous only: encrypted chat id
    sender_user_id      INTEGER,         -- named only
    sender_chat_id      INTEGER,         -- named only
    sender_name         TEXT,            -- named only
    sender_username     TEXT,            -- named only
    language            TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'new',
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    CHECK (
        (anonymous = 1 AND owner_hash IS NOT NULL AND sender_user_id IS NULL
            AND sender_chat_id IS NULL AND sender_name IS NULL AND sender_username IS NULL)
        OR
        (anonymous = 0 AND owner_hash IS NULL AND reply_route IS NULL
            AND sender_user_id IS NOT NULL AND sender_chat_id IS NOT NULL)
    )
);
CREATE INDEX ix_submissions_owner ON submissions (owner_hash, id) WHERE owner_hash IS NOT NULL;
CREATE INDEX ix_submissions_sender ON submissions (sender_user_id, id) WHERE sender_user_id IS NOT NULL;
CREATE INDEX ix_submissions_status ON submissions (status, id);
CREATE INDEX ix_submissions_created ON submissions (created_at);

CREATE TABLE attachments (
    id              INTEGER PRIMARY KEY,
    submission_id   INTEGER NOT NULL REFERENCES submissions (id),
    position        INTEGER NOT NULL,
    type            TEXT NOT NULL,
    file_id         TEXT,
    file_unique_id  TEXT,
    file_name       TEXT,
    mime_type       TEXT,
    latitude        REAL,
    longitude       REAL,
    UNIQUE (submission_id, position)
);

CREATE TABLE history (
    id              INTEGER PRIMARY KEY,
    submission_id   INTEGER NOT NULL REFERENCES submissions (id),
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,   -- 'sender', 'admin:<id>' or 'system'; never a sender's id
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    note            TEXT
);
CREATE INDEX ix_history_submission ON history (submission_id, id);

CREATE TRIGGER history_append_only_update BEFORE UPDATE ON history
BEGIN
    SELECT RAISE(ABORT, 'history is append-only');
END;
CREATE TRIGGER history_append_only_delete BEFORE DELETE ON history
BEGIN
    SELECT RAISE(ABORT, 'history is append-only');
END;

CREATE TABLE conversations (
    name        TEXT NOT NULL,
    key_hash    TEXT NOT NULL,   -- keyed hash of PTB's conversation key
    key_enc     TEXT NOT NULL,   -- the key itself, encrypted (needed to restore it)
    state       TEXT NOT NULL,   -- JSON
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (name, key_hash)
) WITHOUT ROWID;
