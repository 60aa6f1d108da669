-- 0026 (#19), PostgreSQL: the chasing ladder's rungs sent, once per item, round and rung.
CREATE TABLE reminders (
    submission_id   BIGINT NOT NULL REFERENCES submissions (id),
    round           TEXT NOT NULL,
    rung            TEXT NOT NULL,
    sent_at         TEXT NOT NULL,
    PRIMARY KEY (submission_id, round, rung)
);
