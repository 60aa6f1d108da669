-- 0028 (#23), PostgreSQL: the desk's queue by unit in arrival order (keyset paging).
CREATE INDEX ix_submissions_unit_created ON submissions (unit_id, created_at)
    WHERE unit_id IS NOT NULL;
