-- 0030 (#20), PostgreSQL: the satisfaction survey sent by itself at a phase's end, once.
CREATE TABLE survey_auto (
    round           TEXT PRIMARY KEY,
    sent_at         TEXT NOT NULL,
    recipients      BIGINT NOT NULL DEFAULT 0
);
