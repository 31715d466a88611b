-- The first answer to a create sent with an Idempotency-Key, kept per
-- caller for a day so that a retry gets it again instead of creating a
-- second object. A row without a status is a request still running,
-- held until locked_until (a node that died mid-request lets go then).
-- The key itself is kept only as a hash, and the answer's body sealed
-- under a key derived from it, since some answers hold a secret shown
-- once (a new API token): the database alone cannot replay them.

-- +goose Up
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key_hash     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    status       INTEGER,
    headers      TEXT NOT NULL DEFAULT '{}',
    body         BYTEA,
    PRIMARY KEY (scope, key_hash)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
