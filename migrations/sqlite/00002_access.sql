-- Identity and need-to-know: agencies, their people, sign-in sessions, and
-- case membership (the access object). The case row itself is kept minimal
-- here; the cases migrations add its content.

-- +goose Up
CREATE TABLE agencies (
    id          TEXT    PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('police', 'security_authority', 'cert', 'victim',
                                                 'it_provider', 'ministry', 'other')),
    require_mfa INTEGER NOT NULL DEFAULT 0 CHECK (require_mfa IN (0, 1)),
    created_at  DATETIME    NOT NULL,
    updated_at  DATETIME    NOT NULL
);

CREATE TABLE users (
    id                   TEXT    PRIMARY KEY,
    agency_id            TEXT    NOT NULL REFERENCES agencies (id),
    email                TEXT    NOT NULL UNIQUE,
    name                 TEXT    NOT NULL,
    title                TEXT    NOT NULL DEFAULT '',
    status               TEXT    NOT NULL CHECK (status IN ('active', 'disabled')),
    system_role          TEXT    NOT NULL CHECK (system_role IN ('member', 'agency_admin', 'auditor', 'admin')),
    password_hash        TEXT    NOT NULL DEFAULT '',
    must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    created_at           DATETIME    NOT NULL,
    updated_at           DATETIME    NOT NULL
);
CREATE INDEX users_agency ON users (agency_id);

-- A session is one sign-in: the family of refresh tokens rotated from it.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    created_at    DATETIME NOT NULL,
    expires_at    DATETIME NOT NULL,
    revoked_at    DATETIME,
    revoke_reason TEXT NOT NULL DEFAULT '',
    client_ip     TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Refresh tokens are stored as SHA-256 hashes; used_at marks a rotated one,
-- whose reuse revokes its whole session.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    issued_at  DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Failed sign-ins, counted per account and per client address to slow
-- password guessing across every Bevis node.
CREATE TABLE login_failures (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    subject    TEXT NOT NULL,
    failed_at  DATETIME NOT NULL
);
CREATE INDEX login_failures_subject ON login_failures (subject, failed_at);

CREATE TABLE cases (
    id                   TEXT PRIMARY KEY,
    title                TEXT NOT NULL,
    tlp                  TEXT NOT NULL CHECK (tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
    classification_label TEXT NOT NULL DEFAULT '',
    lead_agency_id       TEXT NOT NULL REFERENCES agencies (id),
    created_by           TEXT NOT NULL REFERENCES users (id),
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL
);

CREATE TABLE case_agency_members (
    case_id   TEXT NOT NULL REFERENCES cases (id),
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    role      TEXT NOT NULL CHECK (role IN ('lead', 'investigator', 'analyst', 'observer')),
    added_by  TEXT NOT NULL REFERENCES users (id),
    added_at  DATETIME NOT NULL,
    PRIMARY KEY (case_id, agency_id)
);
CREATE INDEX case_agency_members_agency ON case_agency_members (agency_id);

CREATE TABLE case_user_members (
    case_id  TEXT NOT NULL REFERENCES cases (id),
    user_id  TEXT NOT NULL REFERENCES users (id),
    role     TEXT NOT NULL CHECK (role IN ('lead', 'investigator', 'analyst', 'observer')),
    added_by TEXT NOT NULL REFERENCES users (id),
    added_at DATETIME NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_user_members_user ON case_user_members (user_id);

-- An exclusion cuts a named user off a case whatever they are granted.
CREATE TABLE case_exclusions (
    case_id     TEXT NOT NULL REFERENCES cases (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    reason      TEXT NOT NULL,
    excluded_by TEXT NOT NULL REFERENCES users (id),
    excluded_at DATETIME NOT NULL,
    PRIMARY KEY (case_id, user_id)
);

-- +goose Down
DROP TABLE case_exclusions;
DROP TABLE case_user_members;
DROP TABLE case_agency_members;
DROP TABLE cases;
DROP TABLE login_failures;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE agencies;
