import { api, ProblemError, type Tagged, type Case } from '../api';
import { EvidenceSection } from '../evidence/evidencelist';
import { CaseTasks } from '../tasks/casetasks';
import { CaseNames, ErrorAlert, humanize, Link, Section, useCaseVersion, useLoad } from '../ui';
import { caseTitle, CaseDetails } from './casedetails';
import { EditCaseForm, STALE_MESSAGE } from './caseedit';
import { StatusPanel } from './casestatus';
import { CaseHistorySection } from './casehistory';
import { type CaseTab, CaseTabs, useCaseCounts } from './casetabs';
import { ClockList } from './clocks';
import { Comments } from './comments';
import { MembersSection } from './members';
import { TimelineSection } from '../timeline/timeline';

/**
 * A case: its header, and its parts as tabs, each at its own URL: overview
 * (clocks, status, comments), tasks, timeline, evidence, members, history.
 */
export function CasePage({ id, tab = 'overview' }: { id: string; tab?: CaseTab }) {
  const kase = useLoad(() => api.getCaseTagged(id), [id]);
  // Read again after any change of the members, from this page or another screen.
  const members = useLoad(() => api.members(id), [id, useCaseVersion(id, 'members')]);
  const me = useLoad(() => api.me(), [id]);
  const counts = useCaseCounts(id, tab, members.data);

  // The h1 stays the same element from loading to loaded, so the focus put on it by the router stays too.
  const c = kase.data?.value;
  const header = (
    <header class="case-header">
      <h1 id="page-title" tabIndex={-1}>
        {c ? caseTitle(c) : kase.error ? 'Case not available' : 'Loading case…'}
      </h1>
      {c && <CaseDetails c={c} />}
    </header>
  );
  // The same tree (CaseNames > div > header) while loading and once loaded, so the h1 keeps the focus.
  if (!kase.data || !c) {
    return (
      <CaseNames members={members.data}>
        <div class="page">
          {header}
          <ErrorAlert error={kase.error} />
        </div>
      </CaseNames>
    );
  }
  const tagged = kase.data;

  // Observers (leadership) read only; when the role is unknown, the server decides and says so.
  const role = me.data?.memberships.find((m) => m.case_id === id)?.role;
  const canWrite = role !== 'observer';

  /** Reloads the case after a 412; the edit form then starts again from what it returns. */
  async function reloadCase() {
    try {
      const fresh = await api.getCaseTagged(id);
      kase.set(fresh);
      return fresh;
    } catch {
      kase.reload();
      return undefined;
    }
  }

  function adopt(next: Tagged<Case>) {
    kase.set(next);
  }

  return (
    <CaseNames members={members.data}>
      <div class="page">
        {header}
        {role && <p class="my-role">Your role on this case: {humanize(role)}</p>}
        <p>
          <Link href={`/cases/${id}/sitrep`}>Situation report</Link>
        </p>
        <CaseTabs caseId={id} current={tab} counts={counts} />

        {tab === 'overview' && (
          <>
            <Section title="Regulatory clocks" id="clocks">
              <ClockList
                clocks={c.clocks}
                onMeet={
                  canWrite
                    ? async (clock, reference, metAt) => {
                        try {
                          adopt(await api.meetClock(id, clock.id, reference, metAt, tagged.etag));
                        } catch (err) {
                          if (err instanceof ProblemError && err.status === 412) {
                            await reloadCase();
                            throw new ProblemError({ ...err.problem, detail: STALE_MESSAGE });
                          }
                          throw err;
                        }
                      }
                    : undefined
                }
              />
            </Section>

            <Section title="Case status" id="case-status">
              <StatusPanel kase={tagged} role={role} onMoved={adopt} onStale={reloadCase} />
            </Section>

            {canWrite && (
              <details class="edit-case">
                <summary>Edit the case</summary>
                <EditCaseForm kase={tagged} isLead={role === 'lead'} onSaved={adopt} onStale={reloadCase} />
              </details>
            )}

            <Section title="Comments" id="comments">
              <Comments caseId={id} people={members.data?.users ?? []} idPrefix="case" canWrite={canWrite} />
            </Section>
          </>
        )}

        {tab === 'tasks' && <CaseTasks caseId={id} members={members.data} canWrite={canWrite} />}

        {tab === 'timeline' && <TimelineSection caseId={id} canWrite={canWrite} />}

        {tab === 'evidence' && <EvidenceSection caseId={id} canWrite={canWrite} />}

        {tab === 'members' && (
          <>
            {members.error && members.error.status !== 403 && <ErrorAlert error={members.error} />}
            {members.data && <MembersSection caseId={id} members={members.data} role={role} />}
          </>
        )}

        {tab === 'history' && <CaseHistorySection caseId={id} status={c.status} />}
      </div>
    </CaseNames>
  );
}
