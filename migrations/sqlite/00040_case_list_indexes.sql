-- The case list walks an index in the order it shows, testing each case's
-- visibility and stopping after a page; every sort key it offers needs one,
-- ending in the ID that breaks ties (created_at and updated_at have theirs).

-- +goose Up
CREATE INDEX cases_severity ON cases (severity, id);
CREATE INDEX cases_status_changed ON cases (status_changed_at, id);
CREATE INDEX cases_reference_id ON cases (reference, id);

-- +goose Down
DROP INDEX cases_reference_id;
DROP INDEX cases_status_changed;
DROP INDEX cases_severity;
