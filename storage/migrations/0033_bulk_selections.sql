-- 0033 (#17, point 5): a clerk's selection of items from a chat list (/queue, /search) for
-- one bulk action: the items the list showed, those ticked, who made it and where. Kept in
-- the database, so a selection survives a restart; its buttons carry only its id.
CREATE TABLE bulk_selections (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    items       TEXT NOT NULL,               -- JSON list of item numbers, as listed
    chosen      TEXT NOT NULL DEFAULT '[]',  -- JSON list of those ticked
    created_at  TEXT NOT NULL
);
