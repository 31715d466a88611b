-- The download hard limit's ledger. Each evidence download reserves its
-- bytes before its first byte is sent, in a transaction holding the user's
-- row of download_budgets, so that downloads in parallel cannot together
-- pass the limit; when it ends it is settled with the bytes actually sent
-- (sent stays NULL, and the whole reservation counts, until then). Rows
-- older than the window are dropped as the user reserves again.

-- +goose Up
CREATE TABLE download_budgets (
    user_id    TEXT PRIMARY KEY,
    touched_at DATETIME NOT NULL
);

CREATE TABLE download_reservations (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    reserved_at DATETIME NOT NULL,
    reserved    INTEGER NOT NULL CHECK (reserved >= 0),
    sent        INTEGER CHECK (sent >= 0 AND sent <= reserved),
    settled_at  DATETIME
);
CREATE INDEX download_reservations_user ON download_reservations (user_id, reserved_at);

-- The hard limit no longer sums download entries of the audit log, so
-- recording one no longer pays for this index.
DROP INDEX audit_entries_downloads;

-- +goose Down
CREATE INDEX audit_entries_downloads ON audit_entries (user_id, at) WHERE action = 'evidence.download';
DROP TABLE download_reservations;
DROP TABLE download_budgets;
