// The attack timeline's endpoints and types: keyset pages of events under
// filters, adding and correcting events, their history, and plaso imports
// sent with upload progress.

import { announceWrite } from './changes';
import { parseProblem, ProblemError, toProblem } from './client';
import type { components } from './schema';
import { bearerToken, call, refreshSession } from './session';
import type { Page } from './types';

type Schemas = components['schemas'];
export type TimelineEvent = Schemas['TimelineEvent'];
export type NewTimelineEvent = Schemas['NewTimelineEvent'];
export type TimelineCorrection = Schemas['TimelineCorrection'];
export type TimelineImport = Schemas['TimelineImport'];
export type ImportFormat = TimelineImport['format'];
export type TimelineTTP = Schemas['TimelineTTP'];
export type TacticUse = TimelineTTP['tactics'][number];
export type TechniqueUse = TacticUse['techniques'][number];
export type TimelineHistogram = Schemas['TimelineHistogram'];
export type LaneKind = TimelineHistogram['lane'];

/** What a histogram counts: a span (the whole timeline where left out), at most so many buckets, lanes by. */
export interface HistogramQuery {
  from?: string;
  to?: string;
  buckets?: number;
  lane?: LaneKind;
}

/** The filters of a timeline listing, as the server takes them (and as the URL keeps them). */
export interface TimelineFilter {
  from?: string;
  to?: string;
  source?: string;
  technique?: string;
  tag?: string;
  q?: string;
}

export const TIMELINE_FILTER_KEYS = ['from', 'to', 'source', 'technique', 'tag', 'q'] as const;

const enc = encodeURIComponent;

export function timelineQuery(f: TimelineFilter & { cursor?: string; limit?: number }): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

export const timelineApi = {
  /** One keyset page of current events, oldest first. */
  list: async (caseId: string, f: TimelineFilter, cursor?: string, limit?: number) =>
    (await call<Page<TimelineEvent>>('GET', `/api/v1/cases/${enc(caseId)}/timeline${timelineQuery({ ...f, cursor, limit })}`))
      .body,
  add: async (caseId: string, e: NewTimelineEvent) =>
    (await call<TimelineEvent>('POST', `/api/v1/cases/${enc(caseId)}/timeline`, e)).body,
  correct: async (caseId: string, eventId: string, c: TimelineCorrection) =>
    (await call<TimelineEvent>('POST', `/api/v1/cases/${enc(caseId)}/timeline/${enc(eventId)}/corrections`, c)).body,
  /** Every version of an event, oldest first. */
  history: async (caseId: string, eventId: string) =>
    (await call<{ items: TimelineEvent[] }>('GET', `/api/v1/cases/${enc(caseId)}/timeline/${enc(eventId)}/history`)).body
      .items,
  /** The ATT&CK techniques of the whole timeline the caller may see, by tactic, counted by the server. */
  ttp: async (caseId: string) => (await call<TimelineTTP>('GET', `/api/v1/cases/${enc(caseId)}/timeline/ttp`)).body,
  /** The events the caller may see over time, by lane and tactic: the whole timeline, counted by the server. */
  histogram: async (caseId: string, q: HistogramQuery) =>
    (await call<TimelineHistogram>('GET', `/api/v1/cases/${enc(caseId)}/timeline/histogram${timelineQuery({ ...q })}`)).body,
  imports: async (caseId: string) =>
    (await call<{ items: TimelineImport[] }>('GET', `/api/v1/cases/${enc(caseId)}/timeline/imports`)).body.items,
};

const CONTENT_TYPES: Record<ImportFormat, string> = {
  json_line: 'application/x-ndjson',
  l2tcsv: 'text/csv',
  dynamic: 'text/csv',
};

/**
 * Sends a plaso export as the body of an import, reporting the bytes sent
 * (fetch cannot report upload progress; XMLHttpRequest can). Resolves with
 * the import record; rejects with the server's problem, whose errors list
 * rejected rows by line.
 */
export function importPlaso(
  caseId: string,
  file: Blob,
  format: ImportFormat,
  onProgress: (sent: number, total: number) => void,
  signal?: AbortSignal,
): Promise<TimelineImport> {
  const attempt = async (retried: boolean): Promise<TimelineImport> => {
    const token = await bearerToken();
    const res = await new Promise<Response>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `/api/v1/cases/${enc(caseId)}/timeline/imports?format=${enc(format)}`);
      xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      xhr.setRequestHeader('Content-Type', CONTENT_TYPES[format]);
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
      xhr.onload = () =>
        resolve(
          new Response(xhr.responseText, {
            status: xhr.status,
            headers: { 'Content-Type': xhr.getResponseHeader('Content-Type') ?? '' },
          }),
        );
      xhr.onerror = () =>
        reject(
          new ProblemError({
            type: 'about:blank',
            title: 'Cannot reach the Bevis server. Check your connection and try again.',
            status: 0,
            code: 'network_error',
          }),
        );
      xhr.onabort = () => reject(new ProblemError({ type: 'about:blank', title: 'The import was cancelled.', status: 0, code: 'aborted' }));
      signal?.addEventListener('abort', () => xhr.abort());
      xhr.send(file);
    });
    if (res.status === 401 && !retried && (await refreshSession()) !== null) return attempt(true);
    if (!res.ok) throw new ProblemError(await parseProblem(res));
    announceWrite('POST', `/api/v1/cases/${enc(caseId)}/timeline/imports`);
    try {
      return (await res.json()) as TimelineImport;
    } catch {
      throw new ProblemError(toProblem(res.status, '', undefined));
    }
  };
  return attempt(false);
}
