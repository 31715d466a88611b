-- Download tickets: a short-lived, single-use secret that a browser puts
-- in a download link instead of the bearer token it keeps in memory, so
-- evidence content streams to disk. Only the SHA-256 of the ticket is
-- kept; it is bound to the person, their session and one item.

-- +goose Up
CREATE TABLE download_tickets (
    ticket_hash TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    session_id  TEXT NOT NULL REFERENCES sessions (id),
    item_id     TEXT NOT NULL,
    created_at  DATETIME NOT NULL,
    expires_at  DATETIME NOT NULL,
    used_at     DATETIME
);
CREATE INDEX download_tickets_expiry ON download_tickets (expires_at);

-- +goose Down
DROP TABLE download_tickets;
