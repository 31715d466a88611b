-- Key check values: one per master key Bevis has used, sealed (AES-256-GCM)
-- under that key. At start each key of the master key file must open its
-- check value, so a file with the right key ID but the wrong bytes is
-- refused before it can wrap a data key, unwrap one or judge evidence.

-- +goose Up
CREATE TABLE master_key_checks (
    master_key_id TEXT        PRIMARY KEY,
    check_value   BYTEA       NOT NULL,  -- nonce || AES-256-GCM(master key, a fixed text)
    created_at    TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE master_key_checks;
