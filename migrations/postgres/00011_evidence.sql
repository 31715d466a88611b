-- Evidence items and their chain of custody. An item's content fields are
-- filled once, when its bytes are stored, hashed and locked; its custody is
-- an append-only, per-item hash chain of events from which the current
-- custodian, location and state are derived. The database refuses to
-- change or remove a custody event.

-- +goose Up
CREATE TABLE evidence_items (
    id                    TEXT PRIMARY KEY,
    case_id               TEXT NOT NULL REFERENCES cases (id),
    exhibit_seq           INTEGER NOT NULL,
    exhibit_number        TEXT NOT NULL UNIQUE,
    title                 TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    kind                  TEXT NOT NULL CHECK (kind IN ('disk_image', 'memory_dump', 'network_capture', 'logs',
                                                        'mobile_extraction', 'document', 'physical_item', 'other')),
    physical              BOOLEAN NOT NULL DEFAULT false,
    source_device         TEXT NOT NULL DEFAULT '',
    source_serial         TEXT NOT NULL DEFAULT '',
    source_owner          TEXT NOT NULL DEFAULT '',
    acquisition_tool      TEXT NOT NULL DEFAULT '',
    acquisition_version   TEXT NOT NULL DEFAULT '',
    acquired_by           TEXT NOT NULL DEFAULT '',
    acquired_at           TIMESTAMPTZ,
    acquired_where        TEXT NOT NULL DEFAULT '',
    declared_sha256       TEXT NOT NULL DEFAULT '',
    declared_sha1         TEXT NOT NULL DEFAULT '',
    declared_md5          TEXT NOT NULL DEFAULT '',
    tlp                   TEXT NOT NULL CHECK (tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
    parent_id             TEXT REFERENCES evidence_items (id),
    created_by            TEXT NOT NULL REFERENCES users (id),
    created_at            TIMESTAMPTZ NOT NULL,
    content_status        TEXT NOT NULL DEFAULT 'none'
                          CHECK (content_status IN ('none', 'received', 'rejected')),
    size                  BIGINT,
    sha256                TEXT,
    sha1                  TEXT,
    md5                   TEXT,
    object_key            TEXT,
    object_version        TEXT,
    key_id                TEXT,
    received_at           TIMESTAMPTZ,
    UNIQUE (case_id, exhibit_seq)
);
CREATE INDEX evidence_items_case ON evidence_items (case_id, id);
CREATE INDEX evidence_items_parent ON evidence_items (parent_id);

CREATE TABLE evidence_counters (
    case_id  TEXT PRIMARY KEY REFERENCES cases (id),
    last_seq INTEGER NOT NULL
);

CREATE TABLE custody_events (
    id                     TEXT PRIMARY KEY,
    item_id                TEXT NOT NULL REFERENCES evidence_items (id),
    seq                    INTEGER NOT NULL,
    type                   TEXT NOT NULL,
    actor_user_id          TEXT REFERENCES users (id),
    actor_agency_id        TEXT REFERENCES agencies (id),
    counterparty_user_id   TEXT REFERENCES users (id),
    counterparty_agency_id TEXT REFERENCES agencies (id),
    counterparty_external  TEXT NOT NULL DEFAULT '',
    identity_check         TEXT NOT NULL DEFAULT '',
    purpose                TEXT NOT NULL DEFAULT '',
    location               TEXT NOT NULL DEFAULT '',
    details                TEXT NOT NULL DEFAULT '{}',
    notes                  TEXT NOT NULL DEFAULT '',
    supersedes             TEXT REFERENCES custody_events (id),
    occurred_at            TIMESTAMPTZ NOT NULL,
    recorded_at            TIMESTAMPTZ NOT NULL,
    prev_hash              TEXT NOT NULL,
    hash                   TEXT NOT NULL,
    UNIQUE (item_id, seq)
);

-- +goose StatementBegin
CREATE FUNCTION custody_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'custody_events is append-only';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER custody_events_no_update BEFORE UPDATE OR DELETE ON custody_events
    FOR EACH ROW EXECUTE FUNCTION custody_events_append_only();
CREATE TRIGGER custody_events_no_truncate BEFORE TRUNCATE ON custody_events
    FOR EACH STATEMENT EXECUTE FUNCTION custody_events_append_only();

-- Evidence is never deleted through Bevis; disposal is a custody event.
-- +goose StatementBegin
CREATE FUNCTION evidence_items_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'evidence items are never deleted';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER evidence_items_no_delete BEFORE DELETE ON evidence_items
    FOR EACH ROW EXECUTE FUNCTION evidence_items_no_delete();
CREATE TRIGGER evidence_items_no_truncate BEFORE TRUNCATE ON evidence_items
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_items_no_delete();

-- +goose Down
DROP TRIGGER evidence_items_no_truncate ON evidence_items;
DROP TRIGGER evidence_items_no_delete ON evidence_items;
DROP FUNCTION evidence_items_no_delete();
DROP TRIGGER custody_events_no_truncate ON custody_events;
DROP TRIGGER custody_events_no_update ON custody_events;
DROP FUNCTION custody_events_append_only();
DROP TABLE custody_events;
DROP TABLE evidence_counters;
DROP TABLE evidence_items;
