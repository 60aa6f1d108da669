-- 0032 (#17), PostgreSQL: what the channel post shows of the resident's text.
ALTER TABLE submissions ADD COLUMN public_text TEXT;
ALTER TABLE submissions ADD COLUMN public_unmasked BIGINT NOT NULL DEFAULT 0;
