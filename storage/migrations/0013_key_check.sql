-- 0013: a value written with the anonymity keys (#15), so that keys that do not match the
-- data (a key file lost, or taken from another deployment) are recognised at start-up,
-- before the bot makes new ones and anonymous senders stop being answered. One row.
CREATE TABLE key_check (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    token       TEXT NOT NULL,   -- a fixed text encrypted with the encryption key (Fernet)
    digest      TEXT NOT NULL,   -- the keyed hash of a fixed text under the HMAC key
    created_at  TEXT NOT NULL
);
