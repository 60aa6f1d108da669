-- 0029 (#20): spreadsheets imported by `jindianzi import`, by a hash of their content (the
-- cells of every row, so the same slips saved again as another file are the same), so the
-- same file is not entered twice unless `--again` says so. An import that stopped before
-- its end (finished_at NULL) is named as such.
CREATE TABLE imports (
    content_hash    TEXT PRIMARY KEY,   -- SHA-256 of the rows' cells (bot.import_cli)
    file_name       TEXT NOT NULL,      -- the file's name, without its folder
    rows            INTEGER NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    first_id        INTEGER,            -- the items it entered, #first_id to #last_id
    last_id         INTEGER
);
