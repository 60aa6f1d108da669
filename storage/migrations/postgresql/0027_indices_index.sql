-- 0027 (#19), PostgreSQL: the units' indices over a period read from this covering index.
CREATE INDEX ix_submissions_unit_indices ON submissions
    (dispatched_at, unit_id, sign_due, signed_at, deadline, done_at, reopen_count, rating,
     rating_round)
    WHERE unit_id IS NOT NULL AND dispatched_at IS NOT NULL;
