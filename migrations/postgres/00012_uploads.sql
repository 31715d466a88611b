-- Uploads of evidence content under way. An upload's whole state lives
-- here (the store's multipart upload ID and parts, the hash and sealing
-- states at the stored offset, and the sealed bytes not yet in a part), so
-- that any node can continue it after an interruption.

-- +goose Up
CREATE TABLE evidence_uploads (
    id            TEXT PRIMARY KEY,
    item_id       TEXT NOT NULL REFERENCES evidence_items (id),
    case_id       TEXT NOT NULL REFERENCES cases (id),
    created_by    TEXT NOT NULL REFERENCES users (id),
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    length        BIGINT NOT NULL,
    received      BIGINT NOT NULL DEFAULT 0,
    filename      TEXT NOT NULL DEFAULT '',
    object_key    TEXT NOT NULL,
    store_upload  TEXT NOT NULL,
    data_key_id   TEXT NOT NULL,
    parts         TEXT NOT NULL DEFAULT '[]',
    tail          BYTEA,
    hash_state    BYTEA,
    seal_state    BYTEA,
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'aborted', 'rejected')),
    lease_until   TIMESTAMPTZ,
    version       BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX evidence_uploads_item ON evidence_uploads (item_id, status);
CREATE INDEX evidence_uploads_expiry ON evidence_uploads (status, expires_at);

-- The name the content had on the analyst's machine, kept as data: it is
-- never used to name anything in storage.
ALTER TABLE evidence_items ADD COLUMN original_filename TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE evidence_items DROP COLUMN original_filename;
DROP TABLE evidence_uploads;
