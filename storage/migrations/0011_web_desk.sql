-- 0011: the office's web desk (#23): its sessions, one-time login links, the Mini App login
-- data already exchanged, the size of attached files, and indexes for its queue.

-- A desk session: the browser holds a random token in a cookie, the database only its
-- SHA-256, so a copy of the database opens no session. user_id is the desk user's own
-- Telegram id (an administrator, later a unit member: configured people, like the
-- 'admin:<id>' actors of the history), never derived from a sender.
CREATE TABLE web_sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    language    TEXT NOT NULL,
    csrf        TEXT NOT NULL,   -- the token every POST of this session must carry
    via         TEXT NOT NULL CHECK (via IN ('telegram', 'link')),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_web_sessions_expiry ON web_sessions (expires_at);

-- A one-time login link sent by /web (the token itself is only in the link).
CREATE TABLE web_login_links (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    language    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
) WITHOUT ROWID;
CREATE INDEX ix_web_login_links_expiry ON web_login_links (expires_at);

-- Mini App login data already exchanged for a session (SHA-256 of its hash field), kept
-- until it is too old to be accepted anyway: each is exchanged once.
CREATE TABLE web_initdata_used (
    data_hash   TEXT PRIMARY KEY,
    expires_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_web_initdata_used_expiry ON web_initdata_used (expires_at);

-- Bytes of an attached file as Telegram reported it (NULL: not known, items before 0010):
-- the desk shows files over getFile's 20 MB limit as "open in Telegram".
ALTER TABLE attachments ADD COLUMN file_size INTEGER;

-- The desk's queue lists newest first (created_at, then id). One status or one topic:
-- these give a page and its count in order without sorting. Other filters (several
-- statuses, kind, anonymity, dates) scan ix_submissions_created_groups (0006), which holds
-- all of those columns, so no item row is read until the page's 50 (storage/desk.py).
CREATE INDEX ix_submissions_status_created ON submissions (status, created_at);
CREATE INDEX ix_submissions_topic_created ON submissions (topic_id, created_at);
