-- 0014 (#16): every card the bot sends (the office's announcement, /show, /review, the
-- leading group's copy; later units' task cards and their chats) is recorded with its chat
-- and message, so that one call of the core refreshes every copy when its item changes.
-- No timestamps: nothing to line a copy up with other rows by time.
CREATE TABLE card_copies (
    id            INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    kind          TEXT NOT NULL,   -- announce | show | review | group: how it is rendered
    language      TEXT NOT NULL,
    -- A group's chat id; for a private chat (an administrator's, who may also be an
    -- anonymous sender) tag(copy, chat id, item id): the same for copies of one item in
    -- one chat, unrelated across items.
    place         TEXT NOT NULL,
    chat_enc      TEXT NOT NULL,   -- the chat, encrypted (a fresh token)
    message_id    INTEGER,         -- groups only: the plain message id
    message_enc   TEXT,            -- private chats only: the message id, encrypted
    CHECK ((message_id IS NULL) <> (message_enc IS NULL))
);
CREATE INDEX ix_card_copies_item ON card_copies (submission_id, place, id);

-- An outbox row that edits a card copy instead of sending a new message: a newer edit of
-- the same copy replaces one not yet sent.
ALTER TABLE outbox ADD COLUMN copy_id INTEGER;
CREATE INDEX ix_outbox_copy ON outbox (copy_id) WHERE copy_id IS NOT NULL;
