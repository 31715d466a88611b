-- What identifies an evidence item is under its custody chain, and the
-- database refuses to change it in place: the case, the exhibit number,
-- the kind, the declared hashes and the parent never change; the content's
-- hashes, size and object are written once, when it is received. The title
-- and description change only with a correction on the custody record,
-- which the verifier holds the row to.
--
-- Exhibit numbers: an item derived from another is numbered after its
-- parent (E004.1), so the case's own numbers (E001, E002, …) count the
-- items that have no parent, without gaps; last_number is that count.

-- +goose Up
ALTER TABLE evidence_counters ADD COLUMN last_number INTEGER NOT NULL DEFAULT 0;
UPDATE evidence_counters SET last_number = last_seq;

-- +goose StatementBegin
CREATE FUNCTION evidence_items_identity_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id IS DISTINCT FROM NEW.id OR OLD.case_id IS DISTINCT FROM NEW.case_id
       OR OLD.exhibit_seq IS DISTINCT FROM NEW.exhibit_seq OR OLD.exhibit_number IS DISTINCT FROM NEW.exhibit_number
       OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.physical IS DISTINCT FROM NEW.physical
       OR OLD.declared_sha256 IS DISTINCT FROM NEW.declared_sha256 OR OLD.declared_sha1 IS DISTINCT FROM NEW.declared_sha1
       OR OLD.declared_md5 IS DISTINCT FROM NEW.declared_md5 OR OLD.parent_id IS DISTINCT FROM NEW.parent_id
       OR OLD.created_by IS DISTINCT FROM NEW.created_by OR OLD.created_at IS DISTINCT FROM NEW.created_at
       OR (OLD.content_status = 'received' AND (NEW.content_status IS DISTINCT FROM 'received'
           OR OLD.size IS DISTINCT FROM NEW.size OR OLD.sha256 IS DISTINCT FROM NEW.sha256
           OR OLD.sha1 IS DISTINCT FROM NEW.sha1 OR OLD.md5 IS DISTINCT FROM NEW.md5
           OR OLD.object_key IS DISTINCT FROM NEW.object_key OR OLD.object_version IS DISTINCT FROM NEW.object_version
           OR OLD.key_id IS DISTINCT FROM NEW.key_id OR OLD.received_at IS DISTINCT FROM NEW.received_at)) THEN
        RAISE EXCEPTION 'what identifies an evidence item is never changed in place';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER evidence_items_identity_fixed BEFORE UPDATE ON evidence_items
    FOR EACH ROW EXECUTE FUNCTION evidence_items_identity_fixed();

-- +goose Down
DROP TRIGGER evidence_items_identity_fixed ON evidence_items;
DROP FUNCTION evidence_items_identity_fixed();
ALTER TABLE evidence_counters DROP COLUMN last_number;
