-- 0005: what the digest, statistics and the ledger export need.

-- Each scheduled digest or weekly summary, by period ('2026-11-25', '2026-W48'), so one
-- is never sent twice and a missed one is sent at the next start.
CREATE TABLE digests (
    kind        TEXT NOT NULL,   -- 'daily' or 'weekly'
    period      TEXT NOT NULL,
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (kind, period)
) WITHOUT ROWID;

-- When the office first acted on an item (time to first response).
ALTER TABLE submissions ADD COLUMN first_response_at TEXT;
UPDATE submissions SET first_response_at = (
    SELECT MIN(at) FROM history
    WHERE history.submission_id = submissions.id AND actor LIKE 'admin:%'
);
CREATE INDEX ix_submissions_published ON submissions (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX ix_submissions_rating ON submissions (rating) WHERE rating IS NOT NULL;
CREATE INDEX ix_submissions_open_deadline ON submissions (deadline, status) WHERE deadline IS NOT NULL;
