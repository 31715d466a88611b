-- Exfiltration alerts: rules over the audit stream raise them (see package
-- alerts). dedup_key makes one alert per actor, rule, scope and window, so
-- a sustained bulk read raises one alert, not one per entry. A case lead's
-- approval (status approved, approved_until) lifts the download hard limit
-- for the actor on the alert's cases until then.

-- +goose Up
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    rule            TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    agency_id       TEXT NOT NULL DEFAULT '',
    token_id        TEXT NOT NULL DEFAULT '',
    scope           TEXT NOT NULL DEFAULT '',
    dedup_key       TEXT NOT NULL UNIQUE,
    window_start    TIMESTAMPTZ NOT NULL,
    window_end      TIMESTAMPTZ NOT NULL,
    bytes           BIGINT NOT NULL DEFAULT 0,
    items           BIGINT NOT NULL DEFAULT 0,
    cases           BIGINT NOT NULL DEFAULT 0,
    reads           BIGINT NOT NULL DEFAULT 0,
    threshold       BIGINT NOT NULL DEFAULT 0,
    note            TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'approved')),
    created_at      TIMESTAMPTZ NOT NULL,
    acknowledged_by TEXT NOT NULL DEFAULT '',
    acknowledged_at TIMESTAMPTZ,
    approved_by     TEXT NOT NULL DEFAULT '',
    approved_at     TIMESTAMPTZ,
    approved_until  TIMESTAMPTZ
);
CREATE INDEX alerts_actor ON alerts (user_id, rule, window_end);
CREATE INDEX alerts_created ON alerts (created_at);

-- The cases an alert touches: whose leads see it, approve it, and on which
-- an approval lifts the hard limit.
CREATE TABLE alert_cases (
    alert_id TEXT NOT NULL REFERENCES alerts (id),
    case_id  TEXT NOT NULL,
    PRIMARY KEY (alert_id, case_id)
);
CREATE INDEX alert_cases_case ON alert_cases (case_id, alert_id);

-- The hard limit sums an actor's downloads in the window before each
-- download, sealed or not, so it reads audit_entries (which otherwise has
-- no search index, to keep recording cheap); only download entries pay for
-- this one.
CREATE INDEX audit_entries_downloads ON audit_entries (user_id, at) WHERE action = 'evidence.download';

-- The rules sum one user's sealed entries over a recent window: by user
-- and time, rather than through the user's whole history by seq. The
-- sequencer, not the request, pays for it.
CREATE INDEX audit_chain_user_at ON audit_chain (user_id, at);

-- +goose Down
DROP INDEX audit_chain_user_at;
DROP INDEX audit_entries_downloads;
DROP TABLE alert_cases;
DROP TABLE alerts;
