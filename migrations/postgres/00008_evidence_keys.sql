-- Case data keys: each seals the evidence objects of one case. Stored only
-- wrapped (AES-256-GCM) by a master key kept outside the database; rotating
-- the master key re-wraps the rows and leaves the data keys unchanged.

-- +goose Up
CREATE TABLE case_data_keys (
    id            TEXT        PRIMARY KEY,   -- UUIDv7, named in every sealed object's header
    case_id       TEXT        NOT NULL REFERENCES cases (id),
    version       INTEGER     NOT NULL CHECK (version >= 1),
    wrapped_key   BYTEA       NOT NULL,      -- nonce || AES-256-GCM(master key, data key)
    master_key_id TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    rewrapped_at  TIMESTAMPTZ,
    UNIQUE (case_id, version)
);
CREATE INDEX case_data_keys_master ON case_data_keys (master_key_id);

-- +goose Down
DROP TABLE case_data_keys;
