-- Who read or changed an evidence item (its audit log: the case's entries
-- about it, newest first) walks an index in that order and stops after a
-- page. Without it PostgreSQL intersects the case's and the item's indexes
-- and sorts every entry about the item: it takes case and item for
-- independent, so it expects a tenth of an item's entries when the case
-- holds a tenth of the log (250 of 2,500 over 50,000 entries), and
-- sorting so few looks cheaper than walking.

-- +goose Up
CREATE INDEX audit_chain_case_resource ON audit_chain (case_id, resource_id, seq);

-- +goose Down
DROP INDEX audit_chain_case_resource;
