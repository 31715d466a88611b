-- The attack timeline of a case and the records of super-timeline imports.
-- Events are append-only: a correction is a new event that supersedes the
-- old one, which stays in the history; no event is ever updated.

-- +goose Up
CREATE TABLE timeline_imports (
    id              TEXT     PRIMARY KEY,
    case_id         TEXT     NOT NULL REFERENCES cases (id),
    format          TEXT     NOT NULL CHECK (format IN ('json_line', 'l2tcsv', 'dynamic')),
    status          TEXT     NOT NULL CHECK (status IN ('completed', 'rejected', 'failed')),
    tlp             TEXT     NOT NULL CHECK (tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
    file_sha256     TEXT     NOT NULL,
    bytes_read      INTEGER  NOT NULL,
    rows_read       INTEGER  NOT NULL,
    events_imported INTEGER  NOT NULL,
    rows_rejected   INTEGER  NOT NULL,
    rejections      TEXT     NOT NULL, -- JSON array of {line, reason}, capped
    failure         TEXT     NOT NULL DEFAULT '',
    created_by      TEXT     NOT NULL REFERENCES users (id),
    started_at      DATETIME NOT NULL,
    finished_at     DATETIME NOT NULL
);
CREATE INDEX timeline_imports_case ON timeline_imports (case_id, started_at);

-- seq is the stable rowid the full-text index points at (a table whose key
-- is not an INTEGER PRIMARY KEY may have its rowids renumbered by VACUUM).
-- tactics, techniques and tags hold their values space-separated with a
-- space at each end (' T1078 T1078.002 '), so one LIKE finds a value.
CREATE TABLE timeline_events (
    seq               INTEGER  PRIMARY KEY,
    id                TEXT     NOT NULL UNIQUE,
    case_id           TEXT     NOT NULL REFERENCES cases (id),
    occurred_at       DATETIME NOT NULL,
    occurred_until    DATETIME,
    source_timezone   TEXT     NOT NULL,
    recorded_at       DATETIME NOT NULL,
    recorded_by       TEXT     NOT NULL REFERENCES users (id),
    source_host       TEXT     NOT NULL DEFAULT '',
    source_log        TEXT     NOT NULL DEFAULT '',
    source_system     TEXT     NOT NULL DEFAULT '',
    actor             TEXT     NOT NULL DEFAULT '',
    description       TEXT     NOT NULL,
    tactics           TEXT     NOT NULL DEFAULT '',
    techniques        TEXT     NOT NULL DEFAULT '',
    tags              TEXT     NOT NULL DEFAULT '',
    confidence        TEXT     NOT NULL DEFAULT '' CHECK (confidence IN ('', 'low', 'medium', 'high')),
    tlp               TEXT     NOT NULL CHECK (tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
    supersedes        TEXT     REFERENCES timeline_events (id),
    correction_reason TEXT     NOT NULL DEFAULT '',
    import_id         TEXT     REFERENCES timeline_imports (id) DEFERRABLE INITIALLY DEFERRED,
    CHECK (occurred_until IS NULL OR occurred_until >= occurred_at),
    CHECK ((supersedes IS NULL) = (correction_reason = ''))
);
CREATE INDEX timeline_events_case_time ON timeline_events (case_id, occurred_at, id);
-- An event is superseded at most once: two corrections of one version conflict.
CREATE UNIQUE INDEX timeline_events_supersedes ON timeline_events (supersedes) WHERE supersedes IS NOT NULL;

CREATE VIRTUAL TABLE timeline_events_fts USING fts5 (
    description, actor, source_host, source_log, source_system,
    content = 'timeline_events', content_rowid = 'seq'
);

-- +goose StatementBegin
CREATE TRIGGER timeline_events_fts_insert AFTER INSERT ON timeline_events BEGIN
    INSERT INTO timeline_events_fts (rowid, description, actor, source_host, source_log, source_system)
    VALUES (new.seq, new.description, new.actor, new.source_host, new.source_log, new.source_system);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER timeline_events_fts_delete AFTER DELETE ON timeline_events BEGIN
    INSERT INTO timeline_events_fts (timeline_events_fts, rowid, description, actor, source_host, source_log, source_system)
    VALUES ('delete', old.seq, old.description, old.actor, old.source_host, old.source_log, old.source_system);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER timeline_events_append_only BEFORE UPDATE ON timeline_events BEGIN
    SELECT RAISE(ABORT, 'timeline events are append-only: supersede, do not update');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER timeline_events_append_only;
DROP TRIGGER timeline_events_fts_delete;
DROP TRIGGER timeline_events_fts_insert;
DROP TABLE timeline_events_fts;
DROP TABLE timeline_events;
DROP TABLE timeline_imports;
