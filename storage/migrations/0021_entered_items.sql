-- 0021 (#20): items the office enters on residents' behalf (heard at a meeting, on the
-- phone, found in a suggestion box, on a visit). Such an item has no Telegram sender, which
-- the CHECK of 0001 forbade (a named item needed a Telegram id), so the table is rebuilt
-- (SQLite cannot change a CHECK): the same columns and rows, plus
--   source         where it came from: 'chat' (the bot) or what the clerk chose
--   contact_name   named entered items only: who said it
--   contact_phone  named entered items only, optional: the number a 回访 calls back
-- A named entered item's reply_route is the clerk's chat (encrypted): what would be said to
-- its sender goes there as a 回访 (call-back) task. An anonymous entered item has, like an
-- unlinked one, a random owner_tag and no route: nobody to tell, nothing that names anyone.
-- Runs with foreign keys off (the runner's marker below); the runner checks them before
-- COMMIT. Ids and the AUTOINCREMENT counter are kept (the full-text index's rowids).
-- foreign_keys: off

CREATE TABLE submissions_0021 (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT NOT NULL CHECK (kind IN ('suggestion', 'problem')),
    text                TEXT NOT NULL,
    topic_id            TEXT NOT NULL,
    suggested_topic_id  TEXT NOT NULL,
    evidence            TEXT NOT NULL,   -- JSON list of {topic_id, score, keywords}
    anonymous           INTEGER NOT NULL CHECK (anonymous IN (0, 1)),
    owner_tag           TEXT,            -- anonymous only
    reply_route         TEXT,            -- encrypted chat: an anonymous sender's, or the clerk's
    sender_user_id      INTEGER,         -- named, through the bot only
    sender_chat_id      INTEGER,         -- named, through the bot only
    sender_name         TEXT,            -- named, through the bot only
    sender_username     TEXT,            -- named, through the bot only
    language            TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'new',
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    owner               TEXT,
    deadline            TEXT,
    duplicate_of        INTEGER REFERENCES submissions (id),
    response            TEXT,
    responded_at        TEXT,
    rating              TEXT CHECK (rating IN ('satisfied', 'basically', 'unsatisfied')),
    rated_at            TEXT,
    published_at        TEXT,
    channel_message_id  INTEGER,
    first_response_at   TEXT,
    source_update_id    INTEGER,
    place_id            TEXT,
    phase_id            TEXT,
    rating_round        INTEGER NOT NULL DEFAULT 0,
    source              TEXT NOT NULL DEFAULT 'chat',
    contact_name        TEXT,            -- named entered items only
    contact_phone       TEXT,            -- named entered items only
    CHECK (
        (anonymous = 1 AND owner_tag IS NOT NULL AND sender_user_id IS NULL
            AND sender_chat_id IS NULL AND sender_name IS NULL AND sender_username IS NULL
            AND contact_name IS NULL AND contact_phone IS NULL
            AND (source = 'chat' OR reply_route IS NULL))
        OR
        (anonymous = 0 AND source = 'chat' AND owner_tag IS NULL AND reply_route IS NULL
            AND sender_user_id IS NOT NULL AND sender_chat_id IS NOT NULL
            AND contact_name IS NULL AND contact_phone IS NULL)
        OR
        (anonymous = 0 AND source <> 'chat' AND owner_tag IS NULL AND sender_user_id IS NULL
            AND sender_chat_id IS NULL AND sender_name IS NULL AND sender_username IS NULL
            AND contact_name IS NOT NULL)
    )
);

INSERT INTO submissions_0021 (
    id, kind, text, topic_id, suggested_topic_id, evidence, anonymous, owner_tag,
    reply_route, sender_user_id, sender_chat_id, sender_name, sender_username, language,
    status, created_at, updated_at, owner, deadline, duplicate_of, response,
    responded_at, rating, rated_at, published_at, channel_message_id, first_response_at,
    source_update_id, place_id, phase_id, rating_round
)
SELECT
    id, kind, text, topic_id, suggested_topic_id, evidence, anonymous, owner_tag,
    reply_route, sender_user_id, sender_chat_id, sender_name, sender_username, language,
    status, created_at, updated_at, owner, deadline, duplicate_of, response,
    responded_at, rating, rated_at, published_at, channel_message_id, first_response_at,
    source_update_id, place_id, phase_id, rating_round
FROM submissions;

-- The counter, not only the highest id left: a number once given is never given again.
UPDATE sqlite_sequence
SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'submissions'), 0))
WHERE name = 'submissions_0021';

DROP TABLE submissions;
ALTER TABLE submissions_0021 RENAME TO submissions;

-- The indexes and triggers of 0001-0020, as they were.
CREATE INDEX ix_submissions_sender ON submissions (sender_user_id, id) WHERE sender_user_id IS NOT NULL;
CREATE INDEX ix_submissions_status ON submissions (status, id);
CREATE INDEX ix_submissions_created ON submissions (created_at);
CREATE TRIGGER submissions_fts_insert AFTER INSERT ON submissions
BEGIN
    INSERT INTO submissions_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER submissions_fts_update AFTER UPDATE OF text ON submissions
BEGIN
    INSERT INTO submissions_fts (submissions_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO submissions_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE INDEX ix_submissions_deadline ON submissions (deadline) WHERE deadline IS NOT NULL;
CREATE INDEX ix_submissions_topic_status ON submissions (topic_id, status, id);
CREATE INDEX ix_submissions_published ON submissions (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX ix_submissions_rating ON submissions (rating) WHERE rating IS NOT NULL;
CREATE INDEX ix_submissions_open_deadline ON submissions (deadline, status) WHERE deadline IS NOT NULL;
CREATE INDEX ix_submissions_created_groups ON submissions (created_at, kind, status, topic_id, anonymous);
CREATE INDEX ix_submissions_created_response ON submissions (created_at, first_response_at)
    WHERE first_response_at IS NOT NULL;
CREATE INDEX ix_submissions_created_deadline ON submissions (created_at, deadline, responded_at)
    WHERE deadline IS NOT NULL AND responded_at IS NOT NULL;
CREATE INDEX ix_submissions_created_rating ON submissions (created_at, rating)
    WHERE rating IS NOT NULL;
CREATE TRIGGER daily_counts_insert AFTER INSERT ON submissions
BEGIN
    INSERT INTO daily_counts (day, kind, status, topic_id, anonymous, n)
    VALUES (substr(new.created_at, 1, 10), new.kind, new.status, new.topic_id, new.anonymous, 1)
    ON CONFLICT (day, kind, status, topic_id, anonymous) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER daily_counts_update AFTER UPDATE OF status, topic_id, created_at ON submissions
BEGIN
    UPDATE daily_counts SET n = n - 1
    WHERE day = substr(old.created_at, 1, 10) AND kind = old.kind AND status = old.status
        AND topic_id = old.topic_id AND anonymous = old.anonymous;
    INSERT INTO daily_counts (day, kind, status, topic_id, anonymous, n)
    VALUES (substr(new.created_at, 1, 10), new.kind, new.status, new.topic_id, new.anonymous, 1)
    ON CONFLICT (day, kind, status, topic_id, anonymous) DO UPDATE SET n = n + 1;
END;
CREATE UNIQUE INDEX submissions_source_update ON submissions (source_update_id)
    WHERE source_update_id IS NOT NULL;
CREATE INDEX ix_submissions_status_created ON submissions (status, created_at);
CREATE INDEX ix_submissions_topic_created ON submissions (topic_id, created_at);
CREATE INDEX ix_submissions_linked ON submissions (id, owner_tag)
    WHERE anonymous = 1 AND reply_route IS NOT NULL;
CREATE INDEX ix_submissions_place_created ON submissions (place_id, created_at)
    WHERE place_id IS NOT NULL;
CREATE TRIGGER daily_place_counts_insert AFTER INSERT ON submissions
BEGIN
    INSERT INTO daily_place_counts (day, place_id, phase_id, kind, n)
    VALUES (substr(new.created_at, 1, 10), COALESCE(new.place_id, ''),
        COALESCE(new.phase_id, ''), new.kind, 1)
    ON CONFLICT (place_id, phase_id, kind, day) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER daily_place_counts_update AFTER UPDATE OF place_id, phase_id, kind ON submissions
BEGIN
    UPDATE daily_place_counts SET n = n - 1
    WHERE day = substr(old.created_at, 1, 10) AND place_id = COALESCE(old.place_id, '')
        AND phase_id = COALESCE(old.phase_id, '') AND kind = old.kind;
    INSERT INTO daily_place_counts (day, place_id, phase_id, kind, n)
    VALUES (substr(new.created_at, 1, 10), COALESCE(new.place_id, ''),
        COALESCE(new.phase_id, ''), new.kind, 1)
    ON CONFLICT (place_id, phase_id, kind, day) DO UPDATE SET n = n + 1;
END;

-- The ledger and /stats by source.
CREATE INDEX ix_submissions_source_created ON submissions (source, created_at)
    WHERE source <> 'chat';
