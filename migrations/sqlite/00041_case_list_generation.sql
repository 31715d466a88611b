-- A number that changes with every change that can change the case list's
-- counts per status: a case opened, deleted, or given another status,
-- severity or TLP; a membership or exclusion; a tag; a system role. The
-- list caches its counts per access scope and filters under this number
-- (cases.countCache), so a first page costs what the page holds while
-- nothing changes, and a change on any node ends every cached count at once.
-- The number is the sum of the rows (one here; PostgreSQL spreads it).

-- +goose Up
CREATE TABLE case_list_generation (
    id INTEGER PRIMARY KEY CHECK (id BETWEEN 0 AND 63),
    n  BIGINT NOT NULL
);
INSERT INTO case_list_generation (id, n) VALUES (0, 0);
-- +goose StatementBegin
CREATE TRIGGER cases_list_generation_insert AFTER INSERT ON cases
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER cases_list_generation_delete AFTER DELETE ON cases
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER cases_list_generation_update AFTER UPDATE OF status, severity, tlp ON cases
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER case_user_members_list_generation_insert AFTER INSERT ON case_user_members
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER case_user_members_list_generation_delete AFTER DELETE ON case_user_members
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER case_user_members_list_generation_update AFTER UPDATE ON case_user_members
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER case_agency_members_list_generation_insert AFTER INSERT ON case_agency_members
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER case_agency_members_list_generation_delete AFTER DELETE ON case_agency_members
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER case_agency_members_list_generation_update AFTER UPDATE ON case_agency_members
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER case_exclusions_list_generation_insert AFTER INSERT ON case_exclusions
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER case_exclusions_list_generation_delete AFTER DELETE ON case_exclusions
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER case_exclusions_list_generation_update AFTER UPDATE ON case_exclusions
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER case_tags_list_generation_insert AFTER INSERT ON case_tags
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER case_tags_list_generation_delete AFTER DELETE ON case_tags
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_list_generation_update AFTER UPDATE OF system_role ON users
BEGIN
    UPDATE case_list_generation SET n = n + 1 WHERE id = 0;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_list_generation_update;
DROP TRIGGER case_tags_list_generation_delete;
DROP TRIGGER case_tags_list_generation_insert;
DROP TRIGGER case_exclusions_list_generation_update;
DROP TRIGGER case_exclusions_list_generation_delete;
DROP TRIGGER case_exclusions_list_generation_insert;
DROP TRIGGER case_agency_members_list_generation_update;
DROP TRIGGER case_agency_members_list_generation_delete;
DROP TRIGGER case_agency_members_list_generation_insert;
DROP TRIGGER case_user_members_list_generation_update;
DROP TRIGGER case_user_members_list_generation_delete;
DROP TRIGGER case_user_members_list_generation_insert;
DROP TRIGGER cases_list_generation_update;
DROP TRIGGER cases_list_generation_delete;
DROP TRIGGER cases_list_generation_insert;
DROP TABLE case_list_generation;
