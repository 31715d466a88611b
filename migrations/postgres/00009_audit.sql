-- The tamper-evident audit log. Writers append entries; one sequencer
-- (elected with an advisory lock) appends each committed entry to the hash
-- chain (gapless seq from 1) and signs checkpoints of the chain's head.
-- Nothing is ever updated or deleted: triggers refuse both, and TRUNCATE, on
-- every audit table.
--
-- xid is the writing transaction's ID. Entries commit in a different order
-- from their pos, so the sequencer does not seal "everything past the last
-- pos": each round it looks only at entries of transactions that were still
-- running (or not yet begun) at its previous round's snapshot, and seals
-- those now committed, so no entry is skipped and none waits for another
-- transaction.

-- +goose Up
CREATE TABLE audit_entries (
    pos           BIGSERIAL PRIMARY KEY,
    xid           XID8 NOT NULL DEFAULT pg_current_xact_id(),
    id            TEXT NOT NULL UNIQUE,
    at            TIMESTAMPTZ NOT NULL,
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
    range_offset  BIGINT,
    range_length  BIGINT,
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_entries_xid ON audit_entries (xid, pos);

CREATE TABLE audit_chain (
    seq       BIGINT PRIMARY KEY CHECK (seq > 0),
    entry_id  TEXT NOT NULL UNIQUE REFERENCES audit_entries (id),
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    sealed_at TIMESTAMPTZ NOT NULL,
    -- Copies of the entry's search columns, indexed here rather than on
    -- audit_entries so that recording an entry (on the request's path)
    -- updates no index but its keys; verify checks they match the entry.
    at          TIMESTAMPTZ NOT NULL,
    case_id     TEXT NOT NULL DEFAULT '',
    user_id     TEXT NOT NULL DEFAULT '',
    agency_id   TEXT NOT NULL DEFAULT '',
    resource_id TEXT NOT NULL DEFAULT '',
    -- The lowest transaction ID that may still have unsealed entries when this
    -- position was sealed: where a new leader starts looking.
    scan_from   BIGINT
);
CREATE INDEX audit_chain_case ON audit_chain (case_id, seq);
CREATE INDEX audit_chain_user ON audit_chain (user_id, seq);
CREATE INDEX audit_chain_agency ON audit_chain (agency_id, seq);
CREATE INDEX audit_chain_resource ON audit_chain (resource_id, seq);
CREATE INDEX audit_chain_at ON audit_chain (at);

CREATE TABLE audit_checkpoints (
    seq       BIGINT PRIMARY KEY,
    head_hash TEXT NOT NULL,
    signed_at TIMESTAMPTZ NOT NULL,
    key_id    TEXT NOT NULL,
    note      TEXT NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_chain;
DROP TABLE audit_entries;
DROP FUNCTION audit_refuse_change();
