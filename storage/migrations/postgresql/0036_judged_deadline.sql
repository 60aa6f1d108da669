-- 0036 (#19), PostgreSQL: the deadline 按时办结率 judges an item's round by (see SQLite's
-- 0036 for the rule): filled from history the same way, and read by the indices' index.
ALTER TABLE submissions ADD COLUMN judged_deadline TEXT;

UPDATE submissions SET judged_deadline = deadline
WHERE deadline IS NOT NULL AND dispatched_at IS NOT NULL;

WITH approvals AS (
    SELECT h.submission_id AS item, h.id AS step_id, h.at, substr(h.note, 1, 10) AS day,
        s.deadline, s.dispatched_at
    FROM history h JOIN submissions s ON s.id = h.submission_id
    WHERE h.step = 'approve_extension' AND s.deadline IS NOT NULL
        AND s.dispatched_at IS NOT NULL AND h.at >= s.dispatched_at
),
judged AS (
    SELECT a.item, a.step_id, a.at, a.deadline,
        COALESCE(
            (SELECT b.day FROM approvals b WHERE b.item = a.item AND b.step_id < a.step_id
             ORDER BY b.step_id DESC LIMIT 1),
            (SELECT CASE WHEN h.step = 'dispatch' AND strpos(h.note, ' → ') > 0
                THEN substr(h.note, strpos(h.note, ' → ') + 3, 10) END
             FROM history h
             WHERE h.submission_id = a.item AND h.step IN ('dispatch', 'redo')
                AND h.at >= a.dispatched_at
             ORDER BY h.id LIMIT 1)) AS before,
        (SELECT b.day FROM approvals b WHERE b.item = a.item
         ORDER BY b.step_id DESC LIMIT 1) AS last_day
    FROM approvals a
),
late AS (
    SELECT item, step_id,
        deadline::timestamptz + (before::date - last_day::date) * interval '1 day' AS judged,
        row_number() OVER (PARTITION BY item ORDER BY step_id) AS n
    FROM judged
    WHERE before IS NOT NULL
        AND at::timestamptz > deadline::timestamptz + (before::date - last_day::date) * interval '1 day'
)
UPDATE submissions s
SET judged_deadline = to_char(late.judged AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
    || '+00:00'
FROM late WHERE late.item = s.id AND late.n = 1;

DROP INDEX ix_submissions_unit_indices;
CREATE INDEX ix_submissions_unit_indices ON submissions
    (dispatched_at, unit_id, sign_due, signed_at, judged_deadline, done_at, reopen_count,
     rating, rating_round)
    WHERE unit_id IS NOT NULL AND dispatched_at IS NOT NULL;
