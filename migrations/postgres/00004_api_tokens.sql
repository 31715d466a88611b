-- API tokens for automation: per user, limited to named actions and
-- optionally to named cases, with an expiry. Only a SHA-256 of the token is
-- kept; the token itself is shown once.

-- +goose Up
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    last_used_ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE api_token_cases (
    token_id TEXT NOT NULL REFERENCES api_tokens (id),
    case_id  TEXT NOT NULL REFERENCES cases (id),
    PRIMARY KEY (token_id, case_id)
);

-- +goose Down
DROP TABLE api_token_cases;
DROP TABLE api_tokens;
