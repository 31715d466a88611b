-- When an unfinished upload last received bytes (or was started). An
-- upload that has received nothing for a while, and that no request holds,
-- is stale: a lead of the case may discard it, and a new upload of its item
-- replaces it whoever started it; one in progress is never discarded by
-- anyone but the person who started it.

-- +goose Up
ALTER TABLE evidence_uploads ADD COLUMN active_at TIMESTAMPTZ;
UPDATE evidence_uploads SET active_at = created_at;
CREATE INDEX evidence_uploads_case ON evidence_uploads (case_id, status);

-- +goose Down
DROP INDEX evidence_uploads_case;
ALTER TABLE evidence_uploads DROP COLUMN active_at;
