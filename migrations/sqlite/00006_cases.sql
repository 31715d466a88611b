-- The case resource: reference, content, the facts the regulatory clocks are
-- derived from, the NIST SP 800-61 status with its history, and a version
-- for optimistic concurrency (the ETag).

-- +goose Up
ALTER TABLE cases ADD COLUMN reference TEXT;
ALTER TABLE cases ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN severity INTEGER NOT NULL DEFAULT 2 CHECK (severity BETWEEN 1 AND 4);
ALTER TABLE cases ADD COLUMN status TEXT NOT NULL DEFAULT 'new'
    CHECK (status IN ('new', 'triage', 'investigating', 'containment', 'eradication', 'recovery', 'closed'));
ALTER TABLE cases ADD COLUMN status_changed_at DATETIME;
ALTER TABLE cases ADD COLUMN affected_organisations TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cases ADD COLUMN affected_systems TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cases ADD COLUMN personal_data_breach INTEGER NOT NULL DEFAULT 0 CHECK (personal_data_breach IN (0, 1));
ALTER TABLE cases ADD COLUMN discovered_at DATETIME;
ALTER TABLE cases ADD COLUMN aware_at DATETIME;
ALTER TABLE cases ADD COLUMN party_awareness TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cases ADD COLUMN jurisdictions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cases ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
-- Cases opened before references existed keep their ID as reference.
UPDATE cases SET reference = 'BEV-' || id, status_changed_at = created_at WHERE reference IS NULL;
CREATE UNIQUE INDEX cases_reference ON cases (reference);
CREATE INDEX cases_created ON cases (created_at, id);
CREATE INDEX cases_updated ON cases (updated_at, id);

-- One row per year: the last reference number handed out, updated in the
-- transaction that inserts the case, so references are unique across nodes
-- and a rolled-back creation leaves no gap.
CREATE TABLE case_reference_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
);

CREATE TABLE case_tags (
    case_id TEXT NOT NULL REFERENCES cases (id),
    tag     TEXT NOT NULL,
    PRIMARY KEY (case_id, tag)
);
CREATE INDEX case_tags_tag ON case_tags (tag, case_id);

-- Every status change, attributed and timed; the creation is the first row
-- (from '').
CREATE TABLE case_transitions (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases (id),
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    by_user     TEXT NOT NULL REFERENCES users (id),
    by_agency   TEXT NOT NULL REFERENCES agencies (id),
    at          DATETIME NOT NULL,
    reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX case_transitions_case ON case_transitions (case_id, at, id);
INSERT INTO case_transitions (id, case_id, from_status, to_status, by_user, by_agency, at, reason)
SELECT 'created-' || id, id, '', 'new', created_by, lead_agency_id, created_at, '' FROM cases;

-- The regulatory clocks of a case, derived from its facts by the clock
-- rules; due_at is NULL while the anchor is unknown.
CREATE TABLE case_clocks (
    case_id       TEXT NOT NULL REFERENCES cases (id),
    clock         TEXT NOT NULL,
    jurisdiction  TEXT NOT NULL,
    title         TEXT NOT NULL,
    due_at        DATETIME,
    met_at        DATETIME,
    met_by        TEXT REFERENCES users (id),
    met_by_agency TEXT REFERENCES agencies (id),
    met_reference TEXT NOT NULL DEFAULT '',
    recorded_at   DATETIME,
    PRIMARY KEY (case_id, clock)
);
CREATE INDEX case_clocks_open ON case_clocks (due_at, case_id) WHERE met_at IS NULL;

-- +goose Down
DROP TABLE case_clocks;
DROP TABLE case_transitions;
DROP TABLE case_tags;
DROP TABLE case_reference_counters;
DROP INDEX cases_updated;
DROP INDEX cases_created;
DROP INDEX cases_reference;
ALTER TABLE cases DROP COLUMN version;
ALTER TABLE cases DROP COLUMN jurisdictions;
ALTER TABLE cases DROP COLUMN party_awareness;
ALTER TABLE cases DROP COLUMN aware_at;
ALTER TABLE cases DROP COLUMN discovered_at;
ALTER TABLE cases DROP COLUMN personal_data_breach;
ALTER TABLE cases DROP COLUMN affected_systems;
ALTER TABLE cases DROP COLUMN affected_organisations;
ALTER TABLE cases DROP COLUMN status_changed_at;
ALTER TABLE cases DROP COLUMN status;
ALTER TABLE cases DROP COLUMN severity;
ALTER TABLE cases DROP COLUMN summary;
ALTER TABLE cases DROP COLUMN reference;
