-- 0010: nothing twice (#14). The outbox records each send attempt before it is made, so a
-- crash between a send and its outcome is known after the restart; updates' effects are
-- keyed by the update; updates that cannot be read are kept (encrypted) for the operator.

-- Set (durably) just before a send and cleared when its outcome is recorded: a row found
-- with it set at start-up was being sent when the bot stopped, so its outcome is unknown.
ALTER TABLE outbox ADD COLUMN attempt_started_at TEXT;
-- How many sends of this message ended without knowing whether Telegram delivered it.
-- One such outcome allows one more send; a second one is a permanent failure.
ALTER TABLE outbox ADD COLUMN uncertain INTEGER NOT NULL DEFAULT 0;

-- The updates whose effects (a rating, an answer, an instruction, an admin's action) are
-- in the database: written in the same transaction as the effect, so a replay of the same
-- update after a crash changes nothing. Forgotten with the handled inbox rows.
CREATE TABLE update_effects (
    update_id   INTEGER PRIMARY KEY,
    applied_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX update_effects_applied_at ON update_effects (applied_at);

-- Updates python-telegram-bot could not read, skipped so that polling goes on: the raw JSON
-- encrypted with the anonymity key (it may identify an anonymous sender), for the operator
-- (jindianzi dead-letters). update_id is NULL when the answer did not even carry one.
CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY,
    update_id   INTEGER UNIQUE,
    received_at TEXT NOT NULL,
    body        TEXT NOT NULL,   -- Fernet token of the raw JSON
    error       TEXT NOT NULL    -- the type of the exception (nothing of the content)
);
