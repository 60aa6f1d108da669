-- 0020 (#17): the office's questions to senders stay open, so that the sender's next
-- messages are offered to the item even when typed without Telegram's reply gesture.
-- One row per item, nothing per person: which items have an open question for a resident
-- is found with the items' own ownership (named sender, or the anonymous item's tag).
CREATE TABLE open_questions (
    submission_id INTEGER PRIMARY KEY REFERENCES submissions (id),
    status        TEXT NOT NULL,   -- the item's status when asked: once it moves on, closed
    asked_at      TEXT NOT NULL,
    expires_at    TEXT NOT NULL    -- 7 days after asking
);

-- A message a sender sent while a question was open, held until they say where it goes
-- (the item, or a new submission). A random id, new for every message, and one sealed
-- value (the sender's Telegram id, the text, the attachment, when it arrived, encrypted
-- and padded): no value any other row holds, no timestamp in the clear.
CREATE TABLE held_messages (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;

-- An office prompt answered without the reply gesture (#17): the text waits here for the
-- clerk's confirmation before it reaches a resident.
ALTER TABLE prompts ADD COLUMN pending TEXT;
