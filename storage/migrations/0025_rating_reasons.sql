-- 0025 (#18): the sender's rating of each round (0017) gains why: 不满意 gives a reason
-- (one tap) and maybe the sender's own words, and sends the item back (重办) for the next
-- answer, the next round. An answer nobody rates within office.rating_days closes as 未评价:
-- its round is kept as 'unrated' (submissions.rating keeps the latest rating, NULL then).
CREATE TABLE ratings_0022 (
    submission_id   INTEGER NOT NULL REFERENCES submissions (id),
    round           INTEGER NOT NULL CHECK (round >= 1),
    rating          TEXT NOT NULL
                    CHECK (rating IN ('satisfied', 'basically', 'unsatisfied', 'unrated')),
    reason          TEXT,            -- 不满意: unsolved | off_topic | attitude | slow | other
    text            TEXT,            -- 不满意: what the sender added in their own words
    rated_at        TEXT NOT NULL,
    PRIMARY KEY (submission_id, round)
) WITHOUT ROWID;
INSERT INTO ratings_0022 (submission_id, round, rating, rated_at)
    SELECT submission_id, round, rating, rated_at FROM ratings;
DROP TABLE ratings;
ALTER TABLE ratings_0022 RENAME TO ratings;

-- The answers that may still wait for their rating, by when they were sent (the 未评价 job).
CREATE INDEX ix_submissions_answered ON submissions (responded_at)
    WHERE status IN ('answered', 'published') AND response IS NOT NULL;
