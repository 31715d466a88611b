-- Tallies of the current timeline events, kept by the writes of events in
-- the same transaction, so that the time axis (a histogram over the whole
-- case) and the TTP summary are read from a few thousand rows instead of
-- every event. Visibility within a case depends only on an event's TLP
-- marking, so every tally is kept per marking and summed over the markings
-- the reader may see: exact per reader.
--
-- timeline_tally counts events by hour of occurred_at (hours since 1970 UTC),
-- by lane (the event's host, log or system, cut to 200 characters, which
-- keeps the key within the limit of a b-tree entry) and by its first ATT&CK
-- tactic ('' for none); every event counts once per lane kind.
--
-- timeline_ttp_tally counts events by tactic and technique pair (an event
-- counts under each pair of its lists; tactic '' when it has techniques but
-- no tactic) and by day of occurred_at (days since 1970 UTC), with the first
-- start and the last end within that day: a correction that removes the
-- first or last event of a pair recounts only that day, from the partial
-- index of events with techniques.

-- +goose Up
CREATE TABLE timeline_tally (
    case_id   TEXT   NOT NULL REFERENCES cases (id),
    lane_kind TEXT   NOT NULL CHECK (lane_kind IN ('host', 'log', 'system')),
    hour      BIGINT NOT NULL,
    lane      TEXT   NOT NULL,
    tactic    TEXT   NOT NULL,
    tlp       TEXT   NOT NULL CHECK (tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
    events    BIGINT NOT NULL CHECK (events >= 0),
    PRIMARY KEY (case_id, lane_kind, hour, lane, tactic, tlp)
);

CREATE TABLE timeline_ttp_tally (
    case_id    TEXT        NOT NULL REFERENCES cases (id),
    tlp        TEXT        NOT NULL CHECK (tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
    tactic     TEXT        NOT NULL,
    technique  TEXT        NOT NULL,
    day        BIGINT      NOT NULL,
    events     BIGINT      NOT NULL CHECK (events >= 0),
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, tlp, tactic, technique, day)
);

CREATE INDEX timeline_events_ttp ON timeline_events (case_id, occurred_at) WHERE techniques <> '';

-- Back-fill from the current events.
INSERT INTO timeline_tally (case_id, lane_kind, hour, lane, tactic, tlp, events)
SELECT e.case_id, k.kind, floor(extract(epoch FROM e.occurred_at) / 3600)::bigint,
    left(CASE k.kind WHEN 'host' THEN e.source_host WHEN 'log' THEN e.source_log ELSE e.source_system END, 200),
    CASE WHEN e.tactics = '' THEN '' ELSE substr(e.tactics, 2, 6) END, e.tlp, COUNT(*)
FROM timeline_events e
CROSS JOIN (VALUES ('host'), ('log'), ('system')) AS k(kind)
WHERE NOT EXISTS (SELECT 1 FROM timeline_events n WHERE n.supersedes = e.id)
GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO timeline_ttp_tally (case_id, tlp, tactic, technique, day, events, first_seen, last_seen)
SELECT e.case_id, e.tlp, ta.tactic, te.technique, floor(extract(epoch FROM e.occurred_at) / 86400)::bigint, COUNT(*),
    MIN(e.occurred_at), MAX(COALESCE(e.occurred_until, e.occurred_at))
FROM timeline_events e
CROSS JOIN LATERAL unnest(string_to_array(btrim(e.techniques), ' ')) AS te(technique)
CROSS JOIN LATERAL unnest(CASE WHEN e.tactics = '' THEN ARRAY[''] ELSE string_to_array(btrim(e.tactics), ' ') END) AS ta(tactic)
WHERE e.techniques <> '' AND NOT EXISTS (SELECT 1 FROM timeline_events n WHERE n.supersedes = e.id)
GROUP BY 1, 2, 3, 4, 5;

-- +goose Down
DROP INDEX timeline_events_ttp;
DROP TABLE timeline_ttp_tally;
DROP TABLE timeline_tally;
