-- Second factors: a TOTP authenticator per user (pending until its first
-- code is confirmed) and one-time recovery codes, stored salted and hashed.
-- A session records how it was signed in, so that one opened by an agency's
-- own identity provider is not asked for Bevis's second factor.

-- +goose Up
CREATE TABLE user_totp (
    user_id      TEXT   PRIMARY KEY REFERENCES users (id),
    secret       TEXT   NOT NULL,
    last_step    BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    confirmed_at TIMESTAMPTZ
);

CREATE TABLE user_recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at   TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE sessions ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'password'
    CHECK (auth_method IN ('password', 'password+totp', 'password+recovery_code', 'sso'));

-- +goose Down
ALTER TABLE sessions DROP COLUMN auth_method;
DROP TABLE user_recovery_codes;
DROP TABLE user_totp;
