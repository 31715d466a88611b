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
CREATE TRIGGER evidence_items_identity_fixed BEFORE UPDATE ON evidence_items
WHEN OLD.id IS NOT NEW.id OR OLD.case_id IS NOT NEW.case_id OR OLD.exhibit_seq IS NOT NEW.exhibit_seq
  OR OLD.exhibit_number IS NOT NEW.exhibit_number OR OLD.kind IS NOT NEW.kind OR OLD.physical IS NOT NEW.physical
  OR OLD.declared_sha256 IS NOT NEW.declared_sha256 OR OLD.declared_sha1 IS NOT NEW.declared_sha1
  OR OLD.declared_md5 IS NOT NEW.declared_md5 OR OLD.parent_id IS NOT NEW.parent_id
  OR OLD.created_by IS NOT NEW.created_by OR OLD.created_at IS NOT NEW.created_at
  OR (OLD.content_status = 'received' AND (NEW.content_status IS NOT 'received'
      OR OLD.size IS NOT NEW.size OR OLD.sha256 IS NOT NEW.sha256 OR OLD.sha1 IS NOT NEW.sha1
      OR OLD.md5 IS NOT NEW.md5 OR OLD.object_key IS NOT NEW.object_key
      OR OLD.object_version IS NOT NEW.object_version OR OLD.key_id IS NOT NEW.key_id
      OR OLD.received_at IS NOT NEW.received_at))
BEGIN
    SELECT RAISE(ABORT, 'what identifies an evidence item is never changed in place');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER evidence_items_identity_fixed;
ALTER TABLE evidence_counters DROP COLUMN last_number;
