-- Case templates, kept by admins: a case opened from one starts with its
-- tags, severity, marking, regulatory clock sets and tasks.

-- +goose Up
CREATE TABLE case_templates (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    description   TEXT NOT NULL DEFAULT '',
    severity      INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 4),
    tlp           TEXT NOT NULL CHECK (tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
    tags          TEXT NOT NULL DEFAULT '[]',
    jurisdictions TEXT NOT NULL DEFAULT '[]',
    tasks         TEXT NOT NULL DEFAULT '[]',
    created_by    TEXT NOT NULL REFERENCES users (id),
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL
);

-- +goose Down
DROP TABLE case_templates;
