-- The audit log is filtered by action (GET /api/v1/audit?action=…), so the
-- action joins the search columns the sequencer copies into audit_chain,
-- where an index in seq order lets a page of one action stop after the
-- page instead of sorting every entry of it. Entries sealed before this
-- migration get their copy here: the append-only trigger is dropped for
-- this one statement (inside the migration's transaction) and made again;
-- the offline verifier checks every copy against its entry.

-- +goose Up
ALTER TABLE audit_chain ADD COLUMN action TEXT NOT NULL DEFAULT '';
DROP TRIGGER audit_chain_no_update;
UPDATE audit_chain SET action = COALESCE((SELECT e.action FROM audit_entries e WHERE e.id = audit_chain.entry_id), '');
-- +goose StatementBegin
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
-- +goose StatementEnd
CREATE INDEX audit_chain_action ON audit_chain (action, seq);

-- +goose Down
DROP INDEX audit_chain_action;
ALTER TABLE audit_chain DROP COLUMN action;
