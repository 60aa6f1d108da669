-- 0006: covering indexes so /stats reads index entries, not whole rows (texts).
CREATE INDEX ix_submissions_created_groups ON submissions (created_at, kind, status, topic_id, anonymous);
CREATE INDEX ix_submissions_created_response ON submissions (created_at, first_response_at)
    WHERE first_response_at IS NOT NULL;
CREATE INDEX ix_submissions_created_deadline ON submissions (created_at, deadline, responded_at)
    WHERE deadline IS NOT NULL AND responded_at IS NOT NULL;
CREATE INDEX ix_submissions_created_rating ON submissions (created_at, rating)
    WHERE rating IS NOT NULL;
