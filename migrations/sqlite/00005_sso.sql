-- Single sign-on with an agency's own OpenID Connect provider: the
-- agency's provider settings, the groups that grant a system role to
-- people provisioned on first sign-in, the links from a provider's
-- subject to a Bevis user, and sign-ins under way (state, nonce and PKCE
-- verifier, kept here so that any Bevis node can finish what another
-- started).

-- +goose Up
CREATE TABLE agency_sso (
    agency_id       TEXT     PRIMARY KEY REFERENCES agencies (id),
    enabled         INTEGER  NOT NULL CHECK (enabled IN (0, 1)),
    issuer          TEXT     NOT NULL,
    client_id       TEXT     NOT NULL,
    client_secret   TEXT     NOT NULL,
    scopes          TEXT     NOT NULL,
    email_claim     TEXT     NOT NULL,
    name_claim      TEXT     NOT NULL,
    groups_claim    TEXT     NOT NULL,
    provision_users INTEGER  NOT NULL CHECK (provision_users IN (0, 1)),
    updated_at      DATETIME NOT NULL
);

-- Never admin: a provider's group can make nobody an administrator of Bevis.
CREATE TABLE agency_sso_group_roles (
    agency_id   TEXT NOT NULL REFERENCES agency_sso (agency_id),
    group_name  TEXT NOT NULL,
    system_role TEXT NOT NULL CHECK (system_role IN ('member', 'agency_admin', 'auditor')),
    PRIMARY KEY (agency_id, group_name)
);

CREATE TABLE sso_links (
    agency_id     TEXT     NOT NULL REFERENCES agencies (id),
    issuer        TEXT     NOT NULL,
    subject       TEXT     NOT NULL,
    user_id       TEXT     NOT NULL REFERENCES users (id),
    created_at    DATETIME NOT NULL,
    last_login_at DATETIME NOT NULL,
    PRIMARY KEY (agency_id, issuer, subject)
);
CREATE INDEX sso_links_user ON sso_links (user_id);

-- The state is stored as a SHA-256 hash; a row is spent by deleting it.
CREATE TABLE sso_logins (
    state_hash    TEXT     PRIMARY KEY,
    agency_id     TEXT     NOT NULL REFERENCES agencies (id),
    issuer        TEXT     NOT NULL,
    nonce         TEXT     NOT NULL,
    code_verifier TEXT     NOT NULL,
    created_at    DATETIME NOT NULL,
    expires_at    DATETIME NOT NULL
);
CREATE INDEX sso_logins_expires ON sso_logins (expires_at);

-- +goose Down
DROP TABLE sso_logins;
DROP TABLE sso_links;
DROP TABLE agency_sso_group_roles;
DROP TABLE agency_sso;
