-- 0012 (#13): nothing stored links an anonymous item to a person, or to the same person's
-- other items. Existing rows are converted in Python right after this script, in the same
-- transaction (the new values are keyed hashes: see storage/conversion.py).

-- Language choices under their own pseudonym, without timestamps.
ALTER TABLE users RENAME TO users_old;
CREATE TABLE languages (
    key         TEXT PRIMARY KEY,   -- tag(lang, person): no other row carries it
    language    TEXT NOT NULL
) WITHOUT ROWID;

-- Drafts: a random id for each draft (never the same for two drafts of one person) and,
-- sealed together, the owner's draft pseudonym and the draft; no timestamps.
ALTER TABLE drafts RENAME TO drafts_old;
CREATE TABLE drafts (
    id          TEXT PRIMARY KEY,   -- random, new for every draft
    body        TEXT NOT NULL       -- Fernet token of tag(draft, person) + "\n" + JSON, padded
) WITHOUT ROWID;

-- Anonymous items: owner_hash, the same for all items of one person, becomes owner_tag,
-- a tag of the person and the item (two items of one person share nothing). Once unlinked
-- (anonymity.unlink_after_days after closing) reply_route is NULL and the tag random.
DROP INDEX ix_submissions_owner;
ALTER TABLE submissions RENAME COLUMN owner_hash TO owner_tag;
CREATE INDEX ix_submissions_linked ON submissions (id, owner_tag)
    WHERE anonymous = 1 AND reply_route IS NOT NULL;

-- Conversation states: a random id for each conversation instead of a hash of its key
-- (which was the same every time for one person), and no timestamp.
CREATE TABLE conversations_0010 (
    name        TEXT NOT NULL,
    id          TEXT NOT NULL,      -- random, new for every conversation
    key_enc     TEXT NOT NULL,      -- PTB's conversation key, encrypted (to restore it)
    state       TEXT NOT NULL,      -- JSON
    PRIMARY KEY (name, id)
) WITHOUT ROWID;
INSERT INTO conversations_0010 (name, id, key_enc, state)
    SELECT name, lower(hex(randomblob(16))), key_enc, state FROM conversations;
DELETE FROM conversations;
DROP TABLE conversations;
ALTER TABLE conversations_0010 RENAME TO conversations;

-- Delivered messages: in private chats a keyed hash of (chat, message id) replaces the
-- plain message id, which counts per chat and could be compared across chats.
ALTER TABLE outbox ADD COLUMN message_key TEXT;
CREATE INDEX ix_outbox_message_key ON outbox (message_key) WHERE message_key IS NOT NULL;
