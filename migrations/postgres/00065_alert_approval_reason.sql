-- Why a lead approved an alert's activity: required with every approval
-- (1 to 1000 characters), shown beside who approved it and kept on the
-- approval's audit entry. Alerts approved before it have none ('').

-- +goose Up
ALTER TABLE alerts ADD COLUMN approval_reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE alerts DROP COLUMN approval_reason;
