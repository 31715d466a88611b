// What a write changed on a case, announced to whatever shows something
// derived from it (the case page's tab counts, the TTP summary), so that it
// reads it again at once. Every successful write through send() (and the
// plaso import, which sends its own request) is announced here from its
// path, so no screen has to remember to.

/** The parts of a case a write can change, by the segment of its path. */
export type CasePart = 'case' | 'tasks' | 'timeline' | 'evidence' | 'members' | 'history' | 'comments' | 'clocks';

const PARTS: Record<string, CasePart> = {
  tasks: 'tasks',
  timeline: 'timeline',
  evidence: 'evidence',
  members: 'members',
  transitions: 'history',
  comments: 'comments',
  clocks: 'clocks',
};

const CASE_PATH = /^\/api\/v1\/cases\/([^/?#]+)(?:\/([^/?#]+))?/;

/** The case and part a write to path changes, or null for a write about no case (or a read). */
export function changedBy(method: string, path: string): { caseId: string; part: CasePart } | null {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return null;
  const m = CASE_PATH.exec(path);
  if (!m) return null;
  const caseId = decodeURIComponent(m[1]!);
  if (m[2] === undefined) return { caseId, part: 'case' };
  const part = PARTS[m[2]];
  return part ? { caseId, part } : null;
}

type Listener = (caseId: string, part: CasePart) => void;

const listeners = new Set<Listener>();
const versions = new Map<string, number>();

/** How many changes of this part of the case this page has announced. */
export function caseVersion(caseId: string, part: CasePart): number {
  return versions.get(`${caseId}\n${part}`) ?? 0;
}

/** Announces a change of a part of a case to every listener. */
export function caseChanged(caseId: string, part: CasePart): void {
  const key = `${caseId}\n${part}`;
  versions.set(key, (versions.get(key) ?? 0) + 1);
  for (const l of [...listeners]) l(caseId, part);
}

/** Announces what a successful write to path changed, if anything. */
export function announceWrite(method: string, path: string): void {
  const c = changedBy(method, path);
  if (c) caseChanged(c.caseId, c.part);
}

/** Calls listener on each change; the function returned stops it. */
export function onCaseChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
