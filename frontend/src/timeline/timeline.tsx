// The attack timeline of a case: filters kept in the URL, the time axis,
// the virtualised list of events paging with the keyset cursor, the event
// open (its versions, a correction), the TTP summary, adding an event, and
// the plaso import.

import { useState } from 'preact/hooks';
import type { TimelineEvent } from '../api';
import { ErrorAlert, Section, Status, useCaseVersion, useSearch } from '../ui';
import { TimeAxis } from './axis';
import { EventDetail, EventForm } from './eventform';
import { EventList, windowLabel } from './eventlist';
import { applyFilter, filterFrom, TimelineFilters } from './filters';
import { PlasoImport } from './plaso';
import { TTPSummary } from './ttp';
import { useTimeline } from './usetimeline';

export function TimelineSection({ caseId, canWrite }: { caseId: string; canWrite: boolean }) {
  const filter = filterFrom(useSearch());
  const tl = useTimeline(caseId, filter);
  const [open, setOpen] = useState<TimelineEvent | null>(null);
  const [said, setSaid] = useState('');
  // Goes up on every write to the timeline (an event added or corrected,
  // an import), so the TTP summary counts again.
  const changes = useCaseVersion(caseId, 'timeline');
  const from = filter.from ? Date.parse(filter.from) : undefined;
  const to = filter.to ? Date.parse(filter.to) : undefined;

  return (
    <>
      <Section title="Attack timeline" id="timeline">
        <TimelineFilters value={filter} />
        <TimeAxis
          caseId={caseId}
          from={from}
          to={to}
          version={changes}
          onBrush={(a, b) => applyFilter({ ...filter, from: a.toISOString(), to: b.toISOString() })}
        />
        <ErrorAlert error={tl.error} />
        {said && <Status message={said} />}
        <p class="event-count" aria-live="polite">
          {windowLabel(tl.skipped, tl.events.length, tl.more)}
          {tl.more || tl.earlier ? '; more load as you scroll' : ''}
        </p>
        <EventList
          events={tl.events}
          skipped={tl.skipped}
          earlier={tl.earlier}
          more={tl.more}
          loading={tl.loading}
          onNeedMore={tl.loadMore}
          onNeedEarlier={tl.loadPrevious}
          selected={open?.id}
          onSelect={setOpen}
        />
        {open && (
          <EventDetail
            key={open.id}
            caseId={caseId}
            event={open}
            canWrite={canWrite}
            onCorrected={(e) => {
              tl.adopt(e);
              setOpen(e);
              setSaid('The correction is saved; the earlier version stays in the history.');
            }}
            onClose={() => setOpen(null)}
          />
        )}
      </Section>
      <Section title="Techniques by tactic" id="ttp-summary">
        <TTPSummary caseId={caseId} filter={filter} version={changes} />
      </Section>
      {canWrite && (
        <Section title="Add an event" id="add-event">
          <EventForm
            caseId={caseId}
            onSaved={(e) => {
              tl.adopt(e);
              setSaid('The event is added.');
            }}
          />
        </Section>
      )}
      {canWrite && (
        <Section title="Import a plaso timeline" id="plaso">
          <PlasoImport
            caseId={caseId}
            onImported={() => {
              tl.reload();
            }}
          />
        </Section>
      )}
    </>
  );
}
