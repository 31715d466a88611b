-- The identity of this Bevis deployment: one row, made once. Audit
-- checkpoints and exports name it so a partner agency can tell which
-- deployment a copy of the record came from.

-- +goose Up
CREATE TABLE bevis_instance (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    id         TEXT    NOT NULL UNIQUE,
    created_at TEXT    NOT NULL
);
INSERT INTO bevis_instance (singleton, id, created_at)
VALUES (1, lower(hex(randomblob(16))), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

-- +goose Down
DROP TABLE bevis_instance;
