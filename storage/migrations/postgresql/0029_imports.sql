-- 0029 (#20), PostgreSQL: spreadsheets imported by `jindianzi import`, by a hash of their content.
CREATE TABLE imports (
    content_hash    TEXT PRIMARY KEY,
    file_name       TEXT NOT NULL,
    rows            BIGINT NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    first_id        BIGINT,
    last_id         BIGINT
);
