-- 0027 (#19): the units' indices (签收及时率, 按时办结率, ...) over a period are read from
-- this covering index alone: items by the dispatch of their current round, with every
-- column the rates count.
CREATE INDEX ix_submissions_unit_indices ON submissions
    (dispatched_at, unit_id, sign_due, signed_at, deadline, done_at, reopen_count, rating,
     rating_round)
    WHERE unit_id IS NOT NULL AND dispatched_at IS NOT NULL;
