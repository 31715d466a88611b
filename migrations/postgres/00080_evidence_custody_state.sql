-- Two facts of an item's custody that the leadership read models count
-- over every item of every case a reader can read, kept on the item's row
-- by the custody step that changes them (evidence.appendEvent, in the
-- transaction that appends the step) instead of worked out from each
-- item's ledger on every read:
-- - awaiting_handover: the item's last transfer step is an offer nobody
--   accepted or declined yet;
-- - verification_failed: the item's last verification did not find its
--   content intact.
-- They are derived values, never input: the ledger stays the record, and
-- tests hold the columns to what the ledger says. The migration fills them
-- from the ledgers as they are, by the very conditions the read models
-- used before; the index lets a portfolio count a case's items, bytes,
-- open handovers and failed verifications from the index alone.

-- +goose Up
ALTER TABLE evidence_items ADD COLUMN awaiting_handover BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE evidence_items ADD COLUMN verification_failed BOOLEAN NOT NULL DEFAULT false;
UPDATE evidence_items SET
    awaiting_handover = EXISTS (
        SELECT 1 FROM custody_events o WHERE o.item_id = evidence_items.id AND o.type = 'transfer_offered'
          AND NOT EXISTS (SELECT 1 FROM custody_events r WHERE r.item_id = evidence_items.id AND r.seq > o.seq
                          AND r.type IN ('transfer_accepted', 'transfer_declined'))),
    verification_failed = EXISTS (
        SELECT 1 FROM custody_events v WHERE v.item_id = evidence_items.id AND v.type = 'verified'
          AND v.details NOT LIKE '%"result":"ok"%'
          AND NOT EXISTS (SELECT 1 FROM custody_events w WHERE w.item_id = evidence_items.id AND w.seq > v.seq
                          AND w.type = 'verified'));
CREATE INDEX evidence_items_case_state ON evidence_items (case_id, tlp, size, awaiting_handover, verification_failed);
DROP INDEX evidence_items_case_tally;

-- +goose Down
CREATE INDEX evidence_items_case_tally ON evidence_items (case_id, id, tlp, size);
DROP INDEX evidence_items_case_state;
ALTER TABLE evidence_items DROP COLUMN verification_failed;
ALTER TABLE evidence_items DROP COLUMN awaiting_handover;
