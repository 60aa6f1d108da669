-- 0003: handling an item: owner and deadline, duplicates and their followers, the official
-- response and its rating, publication; and what an outbox message is for.

ALTER TABLE submissions ADD COLUMN owner TEXT;            -- department or person (free text)
ALTER TABLE submissions ADD COLUMN deadline TEXT;         -- ISO date-time (UTC)
ALTER TABLE submissions ADD COLUMN duplicate_of INTEGER REFERENCES submissions (id);
ALTER TABLE submissions ADD COLUMN response TEXT;         -- the official response
ALTER TABLE submissions ADD COLUMN responded_at TEXT;
ALTER TABLE submissions ADD COLUMN rating TEXT CHECK (rating IN ('satisfied', 'basically', 'unsatisfied'));
ALTER TABLE submissions ADD COLUMN rated_at TEXT;
ALTER TABLE submissions ADD COLUMN published_at TEXT;
ALTER TABLE submissions ADD COLUMN channel_message_id INTEGER;
CREATE INDEX ix_submissions_deadline ON submissions (deadline) WHERE deadline IS NOT NULL;

-- Senders of duplicates follow the original: they are told what happens to it.
CREATE TABLE followers (
    submission_id   INTEGER NOT NULL REFERENCES submissions (id),
    duplicate_id    INTEGER NOT NULL REFERENCES submissions (id),
    chat_enc        TEXT NOT NULL,   -- encrypted chat of the duplicate's sender
    language        TEXT NOT NULL,
    PRIMARY KEY (submission_id, duplicate_id)
) WITHOUT ROWID;

-- Why a message was sent, so that a reply to it can be matched: 'question' (to a sender),
-- 'group_card' (to the leading group), 'channel_post', or NULL for plain notices.
ALTER TABLE outbox ADD COLUMN purpose TEXT;
CREATE INDEX ix_outbox_message ON outbox (message_id) WHERE purpose IS NOT NULL;
