-- 0026 (#19): the chasing ladder (催办 / 督办). Each rung of an item is sent once per round
-- (a round is one dispatch or 重办: its dispatched_at; a deadline rung names the deadline's
-- day, so an approved extension starts its rungs afresh). After downtime only the highest
-- rung reached is sent and recorded; the office's 催办 by hand is recorded in the history.
CREATE TABLE reminders (
    submission_id   INTEGER NOT NULL REFERENCES submissions (id),
    round           TEXT NOT NULL,
    rung            TEXT NOT NULL,
    sent_at         TEXT NOT NULL,
    PRIMARY KEY (submission_id, round, rung)
) WITHOUT ROWID;
