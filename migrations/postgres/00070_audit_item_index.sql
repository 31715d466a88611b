-- Who read or changed an evidence item (its audit log: the case's entries
-- about it, newest first) walks an index in that order and stops after a
-- page, where one of the case's or the item's indexes alone would leave
-- the planner to intersect them and sort every entry about the item.

-- +goose Up
CREATE INDEX audit_chain_case_resource ON audit_chain (case_id, resource_id, seq);

-- +goose Down
DROP INDEX audit_chain_case_resource;
