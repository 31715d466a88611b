-- Whether the observers of a case (leadership) may download its evidence:
-- a case setting its lead changes, off unless turned on. Downloading is an
-- action of its own (evidence.download); API tokens that could read cases
-- keep the downloads they could make before it existed.

-- +goose Up
ALTER TABLE cases ADD COLUMN observers_may_download INTEGER NOT NULL DEFAULT 0 CHECK (observers_may_download IN (0, 1));
UPDATE api_tokens SET scopes = scopes || ' evidence.download' WHERE ' ' || scopes || ' ' LIKE '% case.read %';

-- +goose Down
UPDATE api_tokens SET scopes = TRIM(REPLACE(' ' || scopes || ' ', ' evidence.download ', ' '));
ALTER TABLE cases DROP COLUMN observers_may_download;
