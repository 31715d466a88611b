-- The time zone a person reads times in, an IANA name such as Europe/Oslo;
-- empty: their browser's.

-- +goose Up
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN time_zone;
