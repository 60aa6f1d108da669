-- 0024 (#18): owner units (承办单位) work their items in the bot. An item is dispatched to a
-- unit (by its configured id), signed for, sent back, given more time, reported done and
-- checked; each step is a history row (its step named), its texts and files kept here.
-- The old free-text owner (submissions.owner) stays as it was for items assigned before:
-- shown as such, never mistaken for a unit.
ALTER TABLE submissions ADD COLUMN unit_id TEXT;            -- [[units]] id, NULL: none
ALTER TABLE submissions ADD COLUMN dispatched_at TEXT;
ALTER TABLE submissions ADD COLUMN sign_due TEXT;           -- 签收 limit of this dispatch
ALTER TABLE submissions ADD COLUMN signed_at TEXT;
ALTER TABLE submissions ADD COLUMN unit_done_at TEXT;       -- the unit's 办结, awaiting check
ALTER TABLE submissions ADD COLUMN done_at TEXT;            -- the office approved the 办结
ALTER TABLE submissions ADD COLUMN unit_answer TEXT;        -- the unit's answer, awaiting check
ALTER TABLE submissions ADD COLUMN requested_deadline TEXT; -- a pending 延期申请
ALTER TABLE submissions ADD COLUMN dispatch_note TEXT;      -- the office's words with the 派单
ALTER TABLE submissions ADD COLUMN reopen_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE submissions ADD COLUMN sender_told_unit INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ix_submissions_unit ON submissions (unit_id, status, deadline)
    WHERE unit_id IS NOT NULL;

-- Which step a history row records (dispatch, sign, bounce, note ...; NULL before 0021).
ALTER TABLE history ADD COLUMN step TEXT;

-- Files a unit sent with a progress note or its 办结 (evidence), by Telegram file id.
CREATE TABLE unit_files (
    id              INTEGER PRIMARY KEY,
    submission_id   INTEGER NOT NULL REFERENCES submissions (id),
    unit_id         TEXT NOT NULL,
    step            TEXT NOT NULL,   -- note | finish
    type            TEXT NOT NULL,
    file_id         TEXT,
    file_unique_id  TEXT,
    file_name       TEXT,
    mime_type       TEXT
);
CREATE INDEX ix_unit_files_item ON unit_files (submission_id, id);
