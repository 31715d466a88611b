// Regulatory clocks (GDPR 72 h, NIS2 24 h / 72 h / one month): how they are
// shown on a case, and which of them leadership must look at now.

import { useState } from 'preact/hooks';
import type { Case, Clock } from '../api';
import { AgencyName, type Column, ErrorAlert, Field, localToISO, Table, Time, useAction, UserName } from '../ui';

/** Clocks due within this many hours count as soon due. */
export const SOON_HOURS = 24;

/** "3 h", "2 d 4 h", "25 min": a duration in words, to the minute. */
export function formatDuration(ms: number): string {
  const min = Math.round(Math.abs(ms) / 60_000);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** How a clock stands, in words: "overdue by 3 h", "due in 20 h", "met", "not started". */
export function clockStanding(k: Clock, now: number): string {
  if (k.state === 'met') return k.met?.late ? 'met late' : 'met';
  if (k.due_at === null) return 'not running yet';
  const left = Date.parse(k.due_at) - now;
  if (k.state === 'overdue' || left < 0) return `overdue by ${formatDuration(left)}`;
  return `due in ${formatDuration(left)}`;
}

export type Urgency = 'overdue' | 'soon';

/** A clock leadership should look at, with its case. */
export interface UrgentClock {
  kase: Case;
  clock: Clock;
  urgency: Urgency;
}

/** The overdue clocks, then those due within SOON_HOURS, soonest first, over the given cases. */
export function urgentClocks(cases: Case[], now: number, soonHours = SOON_HOURS): UrgentClock[] {
  const out: UrgentClock[] = [];
  const seen = new Set<string>();
  for (const kase of cases) {
    for (const clock of kase.clocks) {
      const key = `${kase.id}/${clock.id}`;
      if (seen.has(key) || clock.state === 'met' || clock.due_at === null) continue;
      const due = Date.parse(clock.due_at);
      const urgency: Urgency | null =
        clock.state === 'overdue' || due < now ? 'overdue' : due - now <= soonHours * 3_600_000 ? 'soon' : null;
      if (urgency === null) continue;
      seen.add(key);
      out.push({ kase, clock, urgency });
    }
  }
  const rank = (u: UrgentClock) => (u.urgency === 'overdue' ? 0 : 1);
  return out.sort((a, b) => rank(a) - rank(b) || Date.parse(a.clock.due_at!) - Date.parse(b.clock.due_at!));
}

function clockClass(k: Clock, now: number): string {
  if (k.state === 'met') return k.met?.late ? 'clock met late' : 'clock met';
  if (k.state === 'overdue' || (k.due_at !== null && Date.parse(k.due_at) < now)) return 'clock overdue';
  if (k.due_at !== null && Date.parse(k.due_at) - now <= SOON_HOURS * 3_600_000) return 'clock soon';
  return 'clock';
}

interface ClockListProps {
  clocks: Clock[];
  /** Records a clock as met; absent for those who may not. */
  onMeet?: ((clock: Clock, reference: string, metAt: string | undefined) => Promise<void>) | undefined;
  now?: number;
}

/** A case's clocks: what is due when, its state, and who met it with which reference. */
export function ClockList({ clocks, onMeet, now = Date.now() }: ClockListProps) {
  const [meeting, setMeeting] = useState<string | null>(null);
  const columns: Column<Clock>[] = [
    {
      title: 'Deadline',
      rowHeader: true,
      cell: (k) => (
        <>
          {k.title} <span class="jurisdiction">{k.jurisdiction}</span>
        </>
      ),
    },
    { title: 'Due', cell: (k) => (k.due_at === null ? 'when the facts are known' : <Time iso={k.due_at} />) },
    { title: 'State', cell: (k) => <span class={`badge clock-${k.state}`}>{clockStanding(k, now)}</span> },
    {
      title: 'Met',
      cell: (k) =>
        k.met ? (
          <>
            <Time iso={k.met.at} /> by <UserName id={k.met.by_user} /> (<AgencyName id={k.met.by_agency} />
            ), ref. <span class="reference">{k.met.reference}</span>
          </>
        ) : onMeet && meeting === k.id ? (
          <MeetClockForm
            clock={k}
            onCancel={() => setMeeting(null)}
            onMeet={async (ref, at) => {
              await onMeet(k, ref, at);
              setMeeting(null);
            }}
          />
        ) : onMeet ? (
          <button type="button" class="secondary" onClick={() => setMeeting(k.id)}>
            Record as met<span class="visually-hidden">: {k.title}</span>
          </button>
        ) : null,
    },
  ];
  return (
    <Table
      caption="Regulatory clocks"
      class="clocks"
      columns={columns}
      rows={clocks}
      rowKey={(k) => k.id}
      rowClass={(k) => clockClass(k, now)}
      rowAttributes={(k) => ({ 'data-clock': k.id })}
      empty="No regulatory clocks run on this case."
    />
  );
}

function MeetClockForm({
  clock,
  onMeet,
  onCancel,
}: {
  clock: Clock;
  onMeet: (reference: string, metAt: string | undefined) => Promise<void>;
  onCancel: () => void;
}) {
  const [reference, setReference] = useState('');
  const [at, setAt] = useState('');
  const { busy, problem, run } = useAction();
  const id = `meet-${clock.id.replace(/[^a-z0-9]/gi, '-')}`;
  return (
    <form
      class="inline-form"
      aria-busy={busy}
      onSubmit={(e) => {
        e.preventDefault();
        void run(() => onMeet(reference.trim(), localToISO(at)));
      }}
    >
      <ErrorAlert error={problem} />
      <Field
        id={`${id}-reference`}
        field="reference"
        label="Notification reference"
        hint="E.g. the authority's acknowledgement number."
        required
        value={reference}
        onInput={setReference}
        problem={problem}
      />
      <Field
        id={`${id}-at`}
        field="met_at"
        label="Notified at (default now)"
        type="datetime-local"
        value={at}
        onInput={setAt}
        problem={problem}
      />
      <button type="submit" class="primary" disabled={busy}>
        Record
      </button>
      <button type="button" class="secondary" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
