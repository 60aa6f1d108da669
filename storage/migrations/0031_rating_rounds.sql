-- 0031 (#18): the sender rates each answer once (a round is each answer the sender receives).
-- 不满意 gives a reason and sends the item back (重办): the next answer starts a new round.
-- An answer nobody rates within units.rating_days closes as 未评价 (rating 'unrated' here;
-- submissions.rating keeps the latest round's rating, NULL when it went unrated).
ALTER TABLE submissions ADD COLUMN rating_round INTEGER NOT NULL DEFAULT 1;

CREATE TABLE ratings (
    submission_id   INTEGER NOT NULL REFERENCES submissions (id),
    round           INTEGER NOT NULL,
    rating          TEXT NOT NULL
                    CHECK (rating IN ('satisfied', 'basically', 'unsatisfied', 'unrated')),
    reason          TEXT,            -- 不满意: unsolved | off_topic | attitude | slow | other
    text            TEXT,            -- 不满意: what the sender added in their own words
    at              TEXT NOT NULL,
    PRIMARY KEY (submission_id, round)
);

-- The ratings given before this change: each item's one rating as its first round.
INSERT INTO ratings (submission_id, round, rating, at)
    SELECT id, 1, rating, COALESCE(rated_at, updated_at) FROM submissions
    WHERE rating IS NOT NULL;

CREATE INDEX ix_submissions_unrated ON submissions (responded_at)
    WHERE rating IS NULL AND response IS NOT NULL;
