-- A number that changes with every change that can change the case list's
-- counts per status: a case opened, deleted, or given another status,
-- severity or TLP; a membership or exclusion; a tag; a system role. The
-- list caches its counts per access scope and filters under this number
-- (cases.countCache), so a first page costs what the page holds while
-- nothing changes, and a change on any node ends every cached count at once.
-- The number is the sum of the rows.

-- +goose Up
--
-- On PostgreSQL the number is the sum of 64 rows, each change bumping the
-- row its case falls on, so that nodes writing different cases do not
-- queue for one row lock.
CREATE TABLE case_list_generation (
    id INTEGER PRIMARY KEY CHECK (id BETWEEN 0 AND 63),
    n  BIGINT NOT NULL
);
INSERT INTO case_list_generation (id, n) SELECT g, 0 FROM generate_series(0, 63) AS g;
-- +goose StatementBegin
CREATE FUNCTION case_list_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := to_jsonb(OLD);
    ELSE
        changed := to_jsonb(NEW);
    END IF;
    UPDATE case_list_generation SET n = n + 1
     WHERE id = abs(hashtext(COALESCE(changed->>'case_id', changed->>'id', ''))) % 64;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER cases_list_generation AFTER INSERT OR DELETE OR UPDATE OF status, severity, tlp ON cases
    FOR EACH ROW EXECUTE FUNCTION case_list_generation_bump();
CREATE TRIGGER case_user_members_list_generation AFTER INSERT OR UPDATE OR DELETE ON case_user_members
    FOR EACH ROW EXECUTE FUNCTION case_list_generation_bump();
CREATE TRIGGER case_agency_members_list_generation AFTER INSERT OR UPDATE OR DELETE ON case_agency_members
    FOR EACH ROW EXECUTE FUNCTION case_list_generation_bump();
CREATE TRIGGER case_exclusions_list_generation AFTER INSERT OR UPDATE OR DELETE ON case_exclusions
    FOR EACH ROW EXECUTE FUNCTION case_list_generation_bump();
CREATE TRIGGER case_tags_list_generation AFTER INSERT OR DELETE ON case_tags
    FOR EACH ROW EXECUTE FUNCTION case_list_generation_bump();
CREATE TRIGGER users_list_generation AFTER UPDATE OF system_role ON users
    FOR EACH ROW EXECUTE FUNCTION case_list_generation_bump();

-- +goose Down
DROP TRIGGER users_list_generation ON users;
DROP TRIGGER case_tags_list_generation ON case_tags;
DROP TRIGGER case_exclusions_list_generation ON case_exclusions;
DROP TRIGGER case_agency_members_list_generation ON case_agency_members;
DROP TRIGGER case_user_members_list_generation ON case_user_members;
DROP TRIGGER cases_list_generation ON cases;
DROP FUNCTION case_list_generation_bump();
DROP TABLE case_list_generation;
