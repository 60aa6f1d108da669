-- 0037 (#24): several workers share the drafts. Each draft row gets a number in the order
-- it was added (never reused), so a worker reads only the drafts added since it last
-- looked, instead of unsealing every row to find a resident's draft another worker
-- started. The number says nothing of the person: the id stays random and the body sealed.
ALTER TABLE drafts RENAME TO drafts_before_0037;
CREATE TABLE drafts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL,      -- random, new for every draft
    body        TEXT NOT NULL       -- Fernet token of tag(draft, person) + "\n" + JSON, padded
);
INSERT INTO drafts (id, body) SELECT id, body FROM drafts_before_0037;
DROP TABLE drafts_before_0037;
CREATE UNIQUE INDEX ix_drafts_id ON drafts (id);
-- The conversation's state is derived from the draft at each update now: the states
-- stored by earlier versions (keys encrypted) are no longer read.
DELETE FROM conversations;
