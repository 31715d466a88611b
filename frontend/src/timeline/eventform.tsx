// Adding an event, and correcting one: a correction is a new version with a
// reason, and the old one stays in the event's history.

import { useState } from 'preact/hooks';
import { type NewTimelineEvent, type TimelineEvent, timelineApi } from '../api';
import { ErrorAlert, Field, isoToLocal, localToISO, Time, useAction, useLoad, UserName } from '../ui';
import { sourceLabel } from './eventlist';
import { tacticName } from './tactics';

interface Draft {
  occurred_at: string;
  host: string;
  description: string;
  tactics: string;
  techniques: string;
  tags: string;
  reason: string;
}

const list = (s: string) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);

function draftOf(e: TimelineEvent | undefined): Draft {
  return {
    occurred_at: isoToLocal(e?.occurred_at),
    host: e?.source.host ?? '',
    description: e?.description ?? '',
    tactics: e?.tactics.join(', ') ?? '',
    techniques: e?.techniques.join(', ') ?? '',
    tags: e?.tags.join(', ') ?? '',
    reason: '',
  };
}

/** What the form sends: the whole event (a correction replaces every field), keeping what the form does not show. */
export function eventFrom(d: Draft, base: TimelineEvent | undefined): NewTimelineEvent {
  const out: NewTimelineEvent = {
    occurred_at: localToISO(d.occurred_at) ?? d.occurred_at,
    description: d.description.trim(),
    source_timezone: base?.source_timezone || 'UTC',
    source: { host: d.host.trim(), log: base?.source.log ?? '', system: base?.source.system ?? '' },
    tactics: list(d.tactics).map((t) => t.toUpperCase()),
    techniques: list(d.techniques).map((t) => t.toUpperCase()),
    tags: list(d.tags),
  };
  if (base) {
    out.occurred_until = base.occurred_until;
    out.actor = base.actor;
    out.tlp = base.tlp;
    if (base.confidence) out.confidence = base.confidence;
  }
  return out;
}

export function EventForm({
  caseId,
  correcting,
  onSaved,
  onCancel,
}: {
  caseId: string;
  correcting?: TimelineEvent;
  onSaved: (e: TimelineEvent) => void;
  onCancel?: () => void;
}) {
  const [d, setD] = useState<Draft>(() => draftOf(correcting));
  const { busy, problem, run } = useAction();
  const p = correcting ? 'fix' : 'new';
  const set = (k: keyof Draft) => (v: string) => setD({ ...d, [k]: v });
  async function submit(e: Event) {
    e.preventDefault();
    await run(async () => {
      const body = eventFrom(d, correcting);
      const saved = correcting
        ? await timelineApi.correct(caseId, correcting.id, { ...body, reason: d.reason.trim() })
        : await timelineApi.add(caseId, body);
      setD(draftOf(correcting ? saved : undefined));
      onSaved(saved);
    });
  }
  return (
    <form class="event-form" onSubmit={submit} aria-busy={busy} aria-label={correcting ? 'Correct the event' : 'Add an event'}>
      <ErrorAlert error={problem} />
      <Field id={`${p}-occurred`} field="occurred_at" label="When" type="datetime-local" required value={d.occurred_at} onInput={set('occurred_at')} problem={problem} />
      <Field id={`${p}-host`} field="source.host" label="Host" value={d.host} onInput={set('host')} problem={problem} />
      <Field id={`${p}-description`} field="description" label="What happened" multiline required value={d.description} onInput={set('description')} problem={problem} />
      <Field id={`${p}-tactics`} field="tactics" label="Tactics" hint="ATT&CK tactic IDs, e.g. TA0001, TA0008" value={d.tactics} onInput={set('tactics')} problem={problem} />
      <Field id={`${p}-techniques`} field="techniques" label="Techniques" hint="ATT&CK technique IDs, e.g. T1566.001" value={d.techniques} onInput={set('techniques')} problem={problem} />
      <Field id={`${p}-tags`} field="tags" label="Tags" value={d.tags} onInput={set('tags')} problem={problem} />
      {correcting && <Field id={`${p}-reason`} field="reason" label="Why it is corrected" required value={d.reason} onInput={set('reason')} problem={problem} />}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {correcting ? 'Save the correction' : 'Add the event'}
        </button>
        {onCancel && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

/** One event: its facts, every version of it, and (for writers) the correction form. */
export function EventDetail({
  caseId,
  event,
  canWrite,
  onCorrected,
  onClose,
}: {
  caseId: string;
  event: TimelineEvent;
  canWrite: boolean;
  onCorrected: (e: TimelineEvent) => void;
  onClose: () => void;
}) {
  const history = useLoad(() => timelineApi.history(caseId, event.id), [caseId, event.id]);
  const [correcting, setCorrecting] = useState(false);
  return (
    <div class="event-detail" aria-labelledby="event-detail-title">
      <h3 id="event-detail-title">{event.description}</h3>
      <dl class="facts">
        <div class="fact">
          <dt>When</dt>
          <dd>
            <Time iso={event.occurred_at} sourceZone={event.source_timezone} />
          </dd>
        </div>
        {sourceLabel(event) && (
          <div class="fact">
            <dt>Source</dt>
            <dd>{sourceLabel(event)}</dd>
          </div>
        )}
        {event.tactics.length > 0 && (
          <div class="fact">
            <dt>Tactics</dt>
            <dd>{event.tactics.map(tacticName).join(', ')}</dd>
          </div>
        )}
        {event.techniques.length > 0 && (
          <div class="fact">
            <dt>Techniques</dt>
            <dd>{event.techniques.join(', ')}</dd>
          </div>
        )}
        <div class="fact">
          <dt>Recorded</dt>
          <dd>
            <Time iso={event.recorded_at} /> by <UserName id={event.recorded_by} />
          </dd>
        </div>
      </dl>
      <h4>Versions</h4>
      <ErrorAlert error={history.error} />
      {history.data && (
        <ol class="event-versions">
          {history.data.map((v, i) => (
            <li key={v.id} data-version={i + 1}>
              Version {i + 1}, recorded <Time iso={v.recorded_at} /> by <UserName id={v.recorded_by} />
              {v.correction_reason && <span class="reason"> — corrected because: {v.correction_reason}</span>}
              <div class="muted">{v.description}</div>
            </li>
          ))}
        </ol>
      )}
      <div class="actions">
        {canWrite && !correcting && (
          <button type="button" class="secondary" onClick={() => setCorrecting(true)}>
            Correct this event
          </button>
        )}
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      {correcting && (
        <EventForm
          caseId={caseId}
          correcting={event}
          onSaved={(e) => {
            setCorrecting(false);
            onCorrected(e);
          }}
          onCancel={() => setCorrecting(false)}
        />
      )}
    </div>
  );
}
