-- Indexes for the portfolio (issue 15), which reads the open clocks and the
-- open tasks of every case its reader can read: each holds what the
-- portfolio needs of a case's open clocks or tasks, so it reads them from
-- the index alone, next to each other, instead of looking up every row.
-- (met_at, always NULL here, is in the clocks index so that SQLite sees it
-- covers the query.)

-- +goose Up
CREATE INDEX case_clocks_case_open ON case_clocks (case_id, due_at, clock, title, met_at) WHERE met_at IS NULL;
CREATE INDEX case_tasks_case_open ON case_tasks (case_id, status, due_at, assignee_agency_id, assignee_user_id)
    WHERE status NOT IN ('done', 'cancelled');

-- +goose Down
DROP INDEX case_tasks_case_open;
DROP INDEX case_clocks_case_open;
