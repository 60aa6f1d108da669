-- 0022 (#20): 附议 (me too). A resident supports an item from its post in the channel, or
-- from the acknowledgement of their own item when it is very like an open one: the item's
-- support goes up, once per person, and they follow it (its response reaches them).
-- ``tag`` is tag(support, person, item) (bot.anonymity.Secrets.support_tag): the same for
-- one person and item (so a second press counts nothing), unrelated across items (so it
-- links none of the person's items or supports, anonymous or named).
CREATE TABLE supporters (
    submission_id   INTEGER NOT NULL REFERENCES submissions (id),
    tag             TEXT NOT NULL,
    chat_enc        TEXT,            -- encrypted private chat, to follow it (NULL: forgotten)
    language        TEXT NOT NULL,
    PRIMARY KEY (submission_id, tag)
) WITHOUT ROWID;

ALTER TABLE submissions ADD COLUMN support INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER supporters_count AFTER INSERT ON supporters
BEGIN
    UPDATE submissions SET support = support + 1 WHERE id = new.submission_id;
END;

-- /queue sorted by support (most first) within a status.
CREATE INDEX ix_submissions_status_support ON submissions (status, support DESC, id);
