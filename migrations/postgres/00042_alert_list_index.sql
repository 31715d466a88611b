-- The alert list shows the newest first, ties broken by ID: an index in that
-- order lets it stop after a page instead of sorting every alert.

-- +goose Up
CREATE INDEX alerts_created_id ON alerts (created_at, id);
DROP INDEX alerts_created;

-- +goose Down
CREATE INDEX alerts_created ON alerts (created_at);
DROP INDEX alerts_created_id;
