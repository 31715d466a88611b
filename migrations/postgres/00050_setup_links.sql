-- First-run set-up links: on a database with no admin, bevis serve prints a
-- one-time link that creates the first agency and admin from the browser.
-- Only the SHA-256 of the token is kept; host is the address the link names,
-- the only one it works at.

-- +goose Up
CREATE TABLE setup_links (
    token_hash TEXT PRIMARY KEY,
    host       TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE setup_links;
