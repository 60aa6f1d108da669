-- 0031 (#17, point 9): 认领. A clerk working on an item claims it, so that two clerks never
-- answer one item: who (their Telegram id and name, as the office sees it) and until when
-- (15 minutes after their last action on it; a claim past that time is no claim). Kept
-- with the item, not in a process's memory, so every process and a restart see it.
ALTER TABLE submissions ADD COLUMN claimed_by INTEGER;
ALTER TABLE submissions ADD COLUMN claimed_name TEXT;
ALTER TABLE submissions ADD COLUMN claimed_until TEXT;
