// A case's status: the transitions the server allows, and the record of
// time spent in each phase.

import { useState } from 'preact/hooks';
import { api, type Case, type CaseHistory, type CasePhase, CASE_STATUSES, type CaseRole, type CaseStatus, ProblemError, type Tagged } from '../api';
import { type Column, ErrorAlert, Field, humanize, Select, Status, Table, Time, useAction, useLoad, UserName } from '../ui';
import { STALE_MESSAGE } from './caseedit';
import { formatDuration } from './clocks';

/** The statuses a person may move the case to: the allowed ones, less closing and reopening for all but the lead. */
export function offeredTransitions(c: Case, isLead: boolean): CaseStatus[] {
  return c.allowed_transitions.filter((to) => isLead || (to !== 'closed' && c.status !== 'closed'));
}

interface StatusProps {
  kase: Tagged<Case>;
  role: CaseRole | undefined;
  onMoved: (c: Tagged<Case>) => void;
  onStale: () => Promise<Tagged<Case> | undefined>;
}

/** The columns of the table of phases: each phase, when it was entered (by whom, why) and left, and for how long. */
function phaseColumns(history: CaseHistory): Column<CasePhase>[] {
  return [
    { title: 'Phase', rowHeader: true, cell: (p) => humanize(p.status) },
    {
      title: 'Entered',
      cell: (p) => {
        const t = history.transitions.find((x) => x.to === p.status && x.at === p.entered_at);
        return (
          <>
            <Time iso={p.entered_at} />
            {t && (
              <>
                {' '}
                by <UserName id={t.by_user} />
                {t.reason && <span class="reason"> ({t.reason})</span>}
              </>
            )}
          </>
        );
      },
    },
    { title: 'Left', cell: (p) => (p.left_at ? <Time iso={p.left_at} /> : 'now') },
    { title: 'Time', cell: (p) => formatDuration(p.seconds * 1000) },
  ];
}

/** The case's status, the moves open to the caller, and the time spent in each phase. */
export function StatusPanel({ kase, role, onMoved, onStale }: StatusProps) {
  const c = kase.value;
  const history = useLoad(() => api.caseHistory(c.id), [c.id, c.status]);
  const offered = role === 'observer' ? [] : offeredTransitions(c, role === 'lead');
  const [to, setTo] = useState<string>('');
  const [reason, setReason] = useState('');
  const [said, setSaid] = useState('');
  const { busy, problem, setProblem, run } = useAction();
  const target = offered.includes(to as CaseStatus) ? (to as CaseStatus) : offered[0];

  async function submit(e: Event) {
    e.preventDefault();
    if (target === undefined) return;
    setSaid('');
    let stale = false;
    const ok = await run(async () => {
      try {
        onMoved(await api.transitionCase(c.id, target, reason.trim(), kase.etag));
      } catch (err) {
        if (err instanceof ProblemError && err.status === 412) stale = true;
        throw err;
      }
    });
    if (ok) {
      setSaid(`Case moved to ${humanize(target)}.`);
      setReason('');
      setTo('');
    } else if (stale) {
      await onStale();
      setProblem(new ProblemError({ type: 'about:blank', title: STALE_MESSAGE, status: 412, code: 'precondition_failed' }));
    }
  }

  return (
    <>
      <p>
        Status <strong class={`badge case-status-${c.status}`}>{humanize(c.status)}</strong> since{' '}
        <Time iso={c.status_changed_at} />.
      </p>
      <ErrorAlert error={problem} />
      {said && <Status message={said} />}
      {offered.length > 0 && target !== undefined && (
        <form class="inline-form" onSubmit={submit} aria-busy={busy}>
          <Select
            id="transition-to"
            field="to"
            label="Move to"
            value={target}
            onChange={setTo}
            options={offered.map((s) => ({ value: s, label: humanize(s) }))}
            problem={problem}
          />
          <Field id="transition-reason" field="reason" label="Reason" value={reason} onInput={setReason} problem={problem} />
          <button type="submit" class="primary" disabled={busy}>
            Move case
          </button>
        </form>
      )}
      {role !== 'lead' && c.allowed_transitions.some((s) => !offered.includes(s)) && role !== 'observer' && (
        <p class="field-hint">Closing and reopening a case are the lead agency's.</p>
      )}
      <h3>Time in each phase</h3>
      <ErrorAlert error={history.error} />
      {history.data && (
        <Table
          caption="Phases of the case"
          class="phases"
          columns={phaseColumns(history.data)}
          rows={history.data.phases.map((phase, i) => ({ ...phase, i }))}
          rowKey={(p) => `${p.status}-${p.i}`}
        />
      )}
      {history.data && Object.keys(history.data.time_in_phase_seconds).length > 0 && (
        <p class="phase-totals">
          In all:{' '}
          {CASE_STATUSES.filter((st) => history.data!.time_in_phase_seconds[st] !== undefined)
            .map((st) => `${humanize(st)} ${formatDuration(history.data!.time_in_phase_seconds[st]! * 1000)}`)
            .join(' · ')}
        </p>
      )}
    </>
  );
}
