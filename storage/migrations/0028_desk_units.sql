-- 0028 (#23): the desk's queue by unit (承办单位) in arrival order, paged by keyset: the
-- office's unit filter and a unit member's own queue read this index in order instead of
-- sorting every item of the unit (0024's index is by status and deadline).
CREATE INDEX ix_submissions_unit_created ON submissions (unit_id, created_at)
    WHERE unit_id IS NOT NULL;
