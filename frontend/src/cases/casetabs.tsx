// The case page's tabs: each part of a long investigation at its own URL
// (/cases/:id/timeline, …), so Back, bookmarks and shared links land on it,
// with how many of each there are beside its name.

import { api, type Members, timelineApi } from '../api';
import { Link, useCaseVersion, useLoad } from '../ui';

export const CASE_TABS = [
  { key: 'overview', label: 'Overview' },
  { key: 'tasks', label: 'Tasks' },
  { key: 'timeline', label: 'Timeline' },
  { key: 'evidence', label: 'Evidence' },
  { key: 'members', label: 'Members' },
  { key: 'history', label: 'History' },
] as const;

export type CaseTab = (typeof CASE_TABS)[number]['key'];

export function isCaseTab(s: string | undefined): s is CaseTab {
  return CASE_TABS.some((t) => t.key === s);
}

/** The URL of a tab of a case; the overview is the case's own URL. */
export function caseTabHref(caseId: string, tab: CaseTab): string {
  const base = `/cases/${encodeURIComponent(caseId)}`;
  return tab === 'overview' ? base : `${base}/${tab}`;
}

/** A count as a tab shows it: what the first page holds, and "+" when there are more pages. */
export interface Count {
  n: number;
  more: boolean;
}

export function countText(c: Count | undefined): string {
  return c === undefined ? '' : `${c.n}${c.more ? '+' : ''}`;
}

const first = <T,>(p: { items: T[]; next_cursor?: string | null }): Count => ({ n: p.items.length, more: !!p.next_cursor });

/**
 * The counts of a case's tabs, from one first page of each list (none
 * fetched past it). Each is asked again on a change of tab, and at once
 * when a write announces a change of its part of the case (an import, an
 * added event, task or item, a move of the case), wherever on the page
 * that write was made.
 */
export function useCaseCounts(caseId: string, tab: CaseTab, members: Members | undefined): Partial<Record<CaseTab, Count>> {
  const v = {
    tasks: useCaseVersion(caseId, 'tasks'),
    evidence: useCaseVersion(caseId, 'evidence'),
    timeline: useCaseVersion(caseId, 'timeline'),
    history: useCaseVersion(caseId, 'history'),
  };
  const tasks = useLoad(() => api.caseTasks(caseId).then(first), [caseId, tab, v.tasks]);
  const evidence = useLoad(() => api.caseEvidence(caseId).then(first), [caseId, tab, v.evidence]);
  const timeline = useLoad(() => timelineApi.list(caseId, {}, undefined, 100).then(first), [caseId, tab, v.timeline]);
  const history = useLoad(() => api.caseHistory(caseId).then((h) => ({ n: h.transitions.length, more: false })), [caseId, tab, v.history]);
  return {
    tasks: tasks.data,
    evidence: evidence.data,
    timeline: timeline.data,
    history: history.data,
    members: members ? { n: members.agencies.length + members.users.length, more: false } : undefined,
  };
}

export function CaseTabs({ caseId, current, counts }: { caseId: string; current: CaseTab; counts: Partial<Record<CaseTab, Count>> }) {
  return (
    <nav class="case-tabs" aria-label="Parts of the case">
      <ul>
        {CASE_TABS.map((t) => {
          const n = countText(counts[t.key]);
          return (
            <li key={t.key}>
              <Link href={caseTabHref(caseId, t.key)} aria-current={t.key === current ? 'page' : undefined}>
                {t.label}
                {n && (
                  <span class="count" data-tab-count={t.key}>
                    {' '}
                    <span class="visually-hidden">(</span>
                    {n}
                    <span class="visually-hidden">)</span>
                  </span>
                )}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
