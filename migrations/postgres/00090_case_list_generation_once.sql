-- The case list's generation (00041) is bumped once per transaction and row of case_list_generation, no longer once
-- per row changed: a case's creation inserts the case, its lead, its agency and its tags, four bumps of the same row
-- (four new versions of it, each logged), where one says the same to every reader, who sees the transaction's
-- changes and its bump at once, at its commit. Creations on one node share one transaction in groups (db.Serial),
-- and their cases' rows are often the same of 64. The rows changed are no longer turned into JSON to find their
-- case: the case's ID is read from the row itself.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION case_list_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed record;
    slot integer;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
    ELSE
        changed := NEW;
    END IF;
    IF TG_TABLE_NAME IN ('cases', 'users') THEN
        slot := abs(hashtext(changed.id)) % 64;
    ELSE
        slot := abs(hashtext(changed.case_id)) % 64;
    END IF;
    -- Set for the rest of the transaction, and undone with a savepoint
    -- rolled back, as the bump is.
    IF current_setting('bevis.list_generation_' || slot, true) IS DISTINCT FROM 'bumped' THEN
        UPDATE case_list_generation SET n = n + 1 WHERE id = slot;
        PERFORM set_config('bevis.list_generation_' || slot, 'bumped', true);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION case_list_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
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
