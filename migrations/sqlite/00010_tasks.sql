-- Tasking between agencies, and comments on cases and tasks. A task goes
-- to one user or to one agency; an agency's coordinator acknowledges an
-- agency task and may delegate it to one of the agency's people.

-- +goose Up
CREATE TABLE case_tasks (
    id                 TEXT PRIMARY KEY,
    case_id            TEXT NOT NULL REFERENCES cases (id),
    title              TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    assignee_user_id   TEXT REFERENCES users (id),
    assignee_agency_id TEXT REFERENCES agencies (id),
    delegated_to       TEXT REFERENCES users (id),
    priority           TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    due_at             DATETIME,
    status             TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'blocked', 'done', 'cancelled')),
    acknowledged_at    DATETIME,
    acknowledged_by    TEXT REFERENCES users (id),
    created_by         TEXT NOT NULL REFERENCES users (id),
    created_at         DATETIME NOT NULL,
    updated_at         DATETIME NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1,
    CHECK ((assignee_user_id IS NULL) <> (assignee_agency_id IS NULL)),
    CHECK (delegated_to IS NULL OR assignee_agency_id IS NOT NULL)
);
CREATE INDEX case_tasks_case ON case_tasks (case_id, id);
CREATE INDEX case_tasks_user ON case_tasks (assignee_user_id, id);
CREATE INDEX case_tasks_delegate ON case_tasks (delegated_to, id);
CREATE INDEX case_tasks_agency ON case_tasks (assignee_agency_id, id);
CREATE INDEX case_tasks_due ON case_tasks (due_at, id);

CREATE TABLE task_checklist_items (
    id       TEXT PRIMARY KEY,
    task_id  TEXT NOT NULL REFERENCES case_tasks (id),
    position INTEGER NOT NULL,
    text     TEXT NOT NULL,
    done     INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    done_by  TEXT REFERENCES users (id),
    done_at  DATETIME,
    UNIQUE (task_id, position)
);

CREATE TABLE comments (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cases (id),
    task_id    TEXT REFERENCES case_tasks (id),
    author_id  TEXT NOT NULL REFERENCES users (id),
    body       TEXT NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX comments_case ON comments (case_id, task_id, id);

CREATE TABLE comment_mentions (
    comment_id TEXT NOT NULL REFERENCES comments (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (comment_id, user_id)
);
CREATE INDEX comment_mentions_user ON comment_mentions (user_id, comment_id);

-- +goose Down
DROP TABLE comment_mentions;
DROP TABLE comments;
DROP TABLE task_checklist_items;
DROP TABLE case_tasks;
