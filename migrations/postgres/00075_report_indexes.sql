-- Indexes for the leadership read models, which a portfolio runs over every
-- case its reader can read (200 of 20,000 in the target of issue 15):
-- - the reader's cases are found from their memberships, so the membership
--   indexes by user and by agency carry the case too and answer alone,
--   instead of sending the planner to scan all memberships;
-- - an item's events of one type in ledger order answer "awaits a
--   handover" and "failed its latest re-verification" from the index;
-- - a case's items with their marking and size, and its tasks by when they
--   last changed, are counted without reading the rows.

-- +goose Up
CREATE INDEX case_user_members_user_case ON case_user_members (user_id, case_id);
DROP INDEX case_user_members_user;
CREATE INDEX case_agency_members_agency_case ON case_agency_members (agency_id, case_id);
DROP INDEX case_agency_members_agency;
CREATE INDEX custody_events_item_type ON custody_events (item_id, type, seq);
CREATE INDEX evidence_items_case_tally ON evidence_items (case_id, id, tlp, size);
CREATE INDEX case_tasks_case_updated ON case_tasks (case_id, updated_at);

-- +goose Down
DROP INDEX case_tasks_case_updated;
DROP INDEX evidence_items_case_tally;
DROP INDEX custody_events_item_type;
CREATE INDEX case_agency_members_agency ON case_agency_members (agency_id);
DROP INDEX case_agency_members_agency_case;
CREATE INDEX case_user_members_user ON case_user_members (user_id);
DROP INDEX case_user_members_user_case;
