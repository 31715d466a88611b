-- Issued situation reports: each a numbered, frozen record of what a case's
-- sitrep said when a lead issued it. The content is stored byte for byte as
-- issued (its SHA-256 is on the audit log), so nothing may change or remove
-- a row. markings are the TLP markings of the items the content drew on: a
-- reader who may not see all of them gets the record without its content.
-- The timeline index serves "events recorded since the last report".

-- +goose Up
CREATE TABLE case_sitreps (
    id               TEXT        PRIMARY KEY,
    case_id          TEXT        NOT NULL REFERENCES cases (id),
    number           INTEGER     NOT NULL CHECK (number > 0),
    issued_by        TEXT        NOT NULL REFERENCES users (id),
    issued_by_agency TEXT        NOT NULL REFERENCES agencies (id),
    issued_at        TIMESTAMPTZ NOT NULL,
    markings         TEXT        NOT NULL,
    content          TEXT        NOT NULL,
    sha256           TEXT        NOT NULL,
    UNIQUE (case_id, number)
);

-- +goose StatementBegin
CREATE FUNCTION case_sitreps_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'issued situation reports are immutable';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER case_sitreps_no_change BEFORE UPDATE OR DELETE ON case_sitreps
    FOR EACH ROW EXECUTE FUNCTION case_sitreps_immutable();
CREATE TRIGGER case_sitreps_no_truncate BEFORE TRUNCATE ON case_sitreps
    FOR EACH STATEMENT EXECUTE FUNCTION case_sitreps_immutable();

CREATE INDEX timeline_events_case_recorded ON timeline_events (case_id, recorded_at);

-- +goose Down
DROP INDEX timeline_events_case_recorded;
DROP TRIGGER case_sitreps_no_truncate ON case_sitreps;
DROP TRIGGER case_sitreps_no_change ON case_sitreps;
DROP FUNCTION case_sitreps_immutable();
DROP TABLE case_sitreps;
