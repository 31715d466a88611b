-- The tamper-evident audit log. Writers append entries; one sequencer
-- appends each committed entry to the hash chain (gapless seq from 1) and
-- signs checkpoints of the chain's head. Nothing is ever updated or deleted:
-- triggers refuse both on every audit table. pos is the order entries were
-- committed in, since SQLite serialises write transactions.

-- +goose Up
CREATE TABLE audit_entries (
    pos           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    at            DATETIME NOT NULL,
    user_id       TEXT NOT NULL DEFAULT '',
    agency_id     TEXT NOT NULL DEFAULT '',
    token_id      TEXT NOT NULL DEFAULT '',
    client_ip     TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL DEFAULT '',
    resource_id   TEXT NOT NULL DEFAULT '',
    case_id       TEXT NOT NULL DEFAULT '',
    outcome       TEXT NOT NULL,
    request_id    TEXT NOT NULL DEFAULT '',
    range_offset  INTEGER,
    range_length  INTEGER,
    detail        TEXT NOT NULL DEFAULT ''
);

CREATE TABLE audit_chain (
    seq       INTEGER PRIMARY KEY,
    entry_id  TEXT NOT NULL UNIQUE REFERENCES audit_entries (id),
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    sealed_at DATETIME NOT NULL,
    -- Copies of the entry's search columns, indexed here rather than on
    -- audit_entries so that recording an entry (on the request's path)
    -- updates no index but its keys; verify checks they match the entry.
    at          DATETIME NOT NULL,
    case_id     TEXT NOT NULL DEFAULT '',
    user_id     TEXT NOT NULL DEFAULT '',
    agency_id   TEXT NOT NULL DEFAULT '',
    resource_id TEXT NOT NULL DEFAULT '',
    -- PostgreSQL only (where a new sequencer starts looking); NULL here.
    scan_from   INTEGER
);
CREATE INDEX audit_chain_case ON audit_chain (case_id, seq);
CREATE INDEX audit_chain_user ON audit_chain (user_id, seq);
CREATE INDEX audit_chain_agency ON audit_chain (agency_id, seq);
CREATE INDEX audit_chain_resource ON audit_chain (resource_id, seq);
CREATE INDEX audit_chain_at ON audit_chain (at);

CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY,
    head_hash TEXT NOT NULL,
    signed_at DATETIME NOT NULL,
    key_id    TEXT NOT NULL,
    note      TEXT NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_chain;
DROP TABLE audit_entries;
