-- Leases on background work that must run on one node of the cluster at a
-- time (scheduled evidence re-verification, upload expiry): the holder
-- renews its row before it expires; any node may take an expired one.

-- +goose Up
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at DATETIME NOT NULL,
    expires_at  DATETIME NOT NULL
);

-- +goose Down
DROP TABLE leases;
