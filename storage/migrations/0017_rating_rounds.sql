-- 0017 (#15.6): one rating per round, every round's rating kept; office notices about one
-- item coalesced.

-- A round is each answer the sender receives: rating_round counts them (0: no answer yet),
-- and the rating buttons sent with an answer carry its round. A round is rated once;
-- submissions.rating stays the latest rating (statistics, the ledger), ratings keeps
-- each round's. Nothing in either says who rated: the sender is checked with the item.
ALTER TABLE submissions ADD COLUMN rating_round INTEGER NOT NULL DEFAULT 0;
CREATE TABLE ratings (
    submission_id   INTEGER NOT NULL REFERENCES submissions (id),
    round           INTEGER NOT NULL CHECK (round >= 1),
    rating          TEXT NOT NULL CHECK (rating IN ('satisfied', 'basically', 'unsatisfied')),
    rated_at        TEXT NOT NULL,
    PRIMARY KEY (submission_id, round)
) WITHOUT ROWID;
-- Before this migration an item could be answered once: that was round 1.
UPDATE submissions SET rating_round = 1 WHERE response IS NOT NULL;
INSERT INTO ratings (submission_id, round, rating, rated_at)
SELECT id, 1, rating, COALESCE(rated_at, responded_at, updated_at)
FROM submissions WHERE rating IS NOT NULL AND response IS NOT NULL;

-- Office notices about one item with the same key (their kind, e.g. 'office.answer')
-- queued within a short window are sent as one message: a new one joins the one still
-- waiting, or waits for the window after the last one sent (storage/outbox.py).
ALTER TABLE outbox ADD COLUMN merge_key TEXT;
CREATE INDEX ix_outbox_merge ON outbox (submission_id, merge_key, id) WHERE merge_key IS NOT NULL;
