-- Tallies of the current timeline events, kept by the writes of events in
-- the same transaction, so that the time axis (a histogram over the whole
-- case) and the TTP summary are read from a few thousand rows instead of
-- every event. Visibility within a case depends only on an event's TLP
-- marking, so every tally is kept per marking and summed over the markings
-- the reader may see: exact per reader.
--
-- timeline_tally counts events by hour of occurred_at (hours since 1970 UTC),
-- by lane (the event's host, log or system, cut to 200 characters) and by
-- its first ATT&CK tactic ('' for none); every event counts once per lane kind.
--
-- timeline_ttp_tally counts events by tactic and technique pair (an event
-- counts under each pair of its lists; tactic '' when it has techniques but
-- no tactic) and by day of occurred_at (days since 1970 UTC), with the first
-- start and the last end within that day: a correction that removes the
-- first or last event of a pair recounts only that day, from the partial
-- index of events with techniques.

-- +goose Up
CREATE TABLE timeline_tally (
    case_id   TEXT    NOT NULL REFERENCES cases (id),
    lane_kind TEXT    NOT NULL CHECK (lane_kind IN ('host', 'log', 'system')),
    hour      INTEGER NOT NULL,
    lane      TEXT    NOT NULL,
    tactic    TEXT    NOT NULL,
    tlp       TEXT    NOT NULL CHECK (tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
    events    INTEGER NOT NULL CHECK (events >= 0),
    PRIMARY KEY (case_id, lane_kind, hour, lane, tactic, tlp)
) WITHOUT ROWID;

CREATE TABLE timeline_ttp_tally (
    case_id    TEXT     NOT NULL REFERENCES cases (id),
    tlp        TEXT     NOT NULL CHECK (tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
    tactic     TEXT     NOT NULL,
    technique  TEXT     NOT NULL,
    day        INTEGER  NOT NULL,
    events     INTEGER  NOT NULL CHECK (events >= 0),
    first_seen DATETIME NOT NULL,
    last_seen  DATETIME NOT NULL,
    PRIMARY KEY (case_id, tlp, tactic, technique, day)
) WITHOUT ROWID;

CREATE INDEX timeline_events_ttp ON timeline_events (case_id, occurred_at) WHERE techniques <> '';

-- Back-fill from the current events. SQLite's integer division truncates
-- towards zero, so the floor of a time before 1970 is taken by hand.
INSERT INTO timeline_tally (case_id, lane_kind, hour, lane, tactic, tlp, events)
SELECT e.case_id, k.kind, (e.s - (((e.s % 3600) + 3600) % 3600)) / 3600,
    substr(CASE k.kind WHEN 'host' THEN e.source_host WHEN 'log' THEN e.source_log ELSE e.source_system END, 1, 200),
    CASE WHEN e.tactics = '' THEN '' ELSE substr(e.tactics, 2, 6) END, e.tlp, COUNT(*)
FROM (SELECT t.*, CAST(strftime('%s', t.occurred_at) AS INTEGER) AS s FROM timeline_events t
      WHERE NOT EXISTS (SELECT 1 FROM timeline_events n WHERE n.supersedes = t.id)) e
CROSS JOIN (SELECT 'host' AS kind UNION ALL SELECT 'log' UNION ALL SELECT 'system') k
GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO timeline_ttp_tally (case_id, tlp, tactic, technique, day, events, first_seen, last_seen)
SELECT e.case_id, e.tlp, ta.value, te.value, (e.s - (((e.s % 86400) + 86400) % 86400)) / 86400, COUNT(*),
    MIN(e.occurred_at), MAX(COALESCE(e.occurred_until, e.occurred_at))
FROM (SELECT t.*, CAST(strftime('%s', t.occurred_at) AS INTEGER) AS s FROM timeline_events t
      WHERE t.techniques <> '' AND NOT EXISTS (SELECT 1 FROM timeline_events n WHERE n.supersedes = t.id)) e
JOIN json_each('["' || replace(trim(e.techniques), ' ', '","') || '"]') te
JOIN json_each(CASE WHEN e.tactics = '' THEN '[""]' ELSE '["' || replace(trim(e.tactics), ' ', '","') || '"]' END) ta
GROUP BY 1, 2, 3, 4, 5;

-- +goose Down
DROP INDEX timeline_events_ttp;
DROP TABLE timeline_ttp_tally;
DROP TABLE timeline_tally;
