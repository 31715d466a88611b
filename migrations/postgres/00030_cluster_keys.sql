-- The public-key fingerprints of the cluster's token signing keys and
-- audit checkpoint key, recorded by the first node to start and extended
-- when a node starts with a rotated file that still holds a recorded key.
-- A node whose key file holds none of them refuses to start, so no node
-- signs what the others cannot verify.

-- +goose Up
CREATE TABLE cluster_keys (
    purpose     TEXT NOT NULL CHECK (purpose IN ('token', 'audit')),
    fingerprint TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (purpose, fingerprint)
);

-- +goose Down
DROP TABLE cluster_keys;
