-- 0031 (#17), PostgreSQL: 认领, the clerk who claims an item and until when.
ALTER TABLE submissions ADD COLUMN claimed_by BIGINT;
ALTER TABLE submissions ADD COLUMN claimed_name TEXT;
ALTER TABLE submissions ADD COLUMN claimed_until TEXT;
