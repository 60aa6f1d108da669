-- 0004: counts and lists by topic (and status) without scanning every item.
CREATE INDEX ix_submissions_topic_status ON submissions (topic_id, status, id);
