-- Who disabled a user, and in what role then: an agency admin may not
-- re-enable someone an admin disabled. And how the session that made an API
-- token was signed in, so that a token made after a single sign-on (whose
-- second factor is the identity provider's) keeps working in an agency that
-- requires a second factor.

-- +goose Up
ALTER TABLE users ADD COLUMN disabled_at DATETIME;
ALTER TABLE users ADD COLUMN disabled_by TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled_by_role TEXT NOT NULL DEFAULT '';
-- Who disabled the users disabled until now is not on record: only an admin
-- re-enables them.
UPDATE users SET disabled_by_role = 'admin' WHERE status = 'disabled';
ALTER TABLE api_tokens ADD COLUMN created_with TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN created_with;
ALTER TABLE users DROP COLUMN disabled_by_role;
ALTER TABLE users DROP COLUMN disabled_by;
ALTER TABLE users DROP COLUMN disabled_at;
